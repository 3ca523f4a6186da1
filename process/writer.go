package process

import (
	"context"
	"fmt"
	"os"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/zlog"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// writeLoop sends the hello and the initializer, then, once the helper is
// ready, batches of queued tasks; it closes the helper's input when the
// helper is to exit gracefully.
func (w *worker) writeLoop() {
	defer close(w.writerDone)
	p := w.p
	fe := newFrameEncoder(p.cfg.maxFrame)
	wire.AppendHello(&fe.buf, wire.Hello{Pid: os.Getpid(), MaxFrame: p.cfg.maxFrame, TaskTimeout: p.cfg.taskTimeout})
	if p.cfg.init != nil {
		if err := fe.addCall(0, p.cfg.init, nil); err != nil {
			w.log.Error("cannot encode the initializer's argument", zlog.Error(err))
			w.kill(executor.ExitInitError)
			return
		}
	}
	if err := fe.flush(w.toHelper); err != nil {
		w.kill(executor.ExitCrashed)
		return
	}
	for ready := false; !ready; {
		select {
		case <-w.readyCh:
			ready = true
		case <-w.deadCh:
			return
		case <-w.wake:
			w.discardIfUnneeded()
		}
	}
	var batch, cancelled []*job
	var cancels []wire.Cancel
	for {
		p.mu.Lock()
		n := 0
		for {
			if w.dead {
				p.mu.Unlock()
				return
			}
			if p.queue.Len() > 0 {
				if n = min(w.roomLocked(), p.shareLocked(w)); n > 0 {
					break
				}
			}
			if len(w.cancels) > 0 {
				break
			}
			if w.inflight.Len() == 0 && (w.retiring || (p.closed && p.queue.Len() == 0)) {
				if w.reason == "" {
					w.reason = executor.ExitShutdown
					if w.retiring {
						w.reason = executor.ExitMaxTasks
					}
				}
				p.mu.Unlock()
				_ = w.toHelper.Close() // the helper exits at EOF; run tears down
				return
			}
			w.parked = true
			p.mu.Unlock()
			<-w.wake
			p.mu.Lock()
		}
		for len(batch) < n {
			j, ok := p.queue.Pop()
			if !ok {
				break
			}
			if j.ctxDone { // failed by ctxEnded
				continue
			}
			j.taken, j.w = true, w
			if !j.started {
				if !j.t.Start() {
					cancelled = append(cancelled, j)
					continue
				}
				j.started = true
			}
			w.nextID++
			j.id = w.nextID
			batch = append(batch, j)
			w.sent++
			if p.cfg.maxTasks > 0 && w.sent >= p.cfg.maxTasks {
				w.retiring = true
				break
			}
		}
		if w.resetStream { // the helper skips calls until a new stream
			w.resetStream = false
			fe.newStream()
		}
		if w.askPeerReset {
			w.askPeerReset = false
			fe.peer = true
		}
		cancels = append(cancels[:0], w.cancels...)
		w.cancels = w.cancels[:0]
		p.mu.Unlock()
		for range cancelled {
			p.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeCancelled})
		}
		clear(cancelled)
		cancelled = cancelled[:0]
		sent := batch[:0]
		for _, j := range batch {
			if err := fe.addCall(j.id, j.r, j.ctx); err != nil {
				p.fail(j, fmt.Errorf("process: arguments of %q: %w", j.r.FuncName(), err))
				continue
			}
			sent = append(sent, j)
		}
		p.mu.Lock()
		if w.dead { // run is tearing down and waits for us: hand the jobs back
			fails := p.returnLocked(sent)
			p.mu.Unlock()
			for _, f := range fails {
				p.fail(f.j, f.err)
			}
			return
		}
		for _, j := range sent {
			w.inflight.Push(j)
		}
		p.mu.Unlock()
		for _, c := range cancels { // after the calls they may name
			fe.buf.Write(wire.AppendCancel(fe.hdr[:0], c))
		}
		if err := fe.flush(w.toHelper); err != nil {
			w.kill(executor.ExitCrashed) // the reader sees EOF and tears down
		}
		if len(cancels) > 0 && p.testCancelsSent != nil {
			p.testCancelsSent(len(cancels))
		}
		if len(sent) > 0 && p.testCallsSent != nil {
			p.testCallsSent(len(sent))
		}
		clear(batch)
		batch = batch[:0]
	}
}

var errStoppedRunning = fmt.Errorf("%w: its helper was killed", executor.ErrStopped)

// failure is a job to fail, outside the pool's lock, and its error.
type failure struct {
	j   *job
	err error
}

// returnLocked puts jobs that a dead worker held but did not run back in
// the queue, or returns them with the error to fail them with: all of them
// if the pool is stopped or broken, and those whose ctx ended.
func (p *Executor) returnLocked(jobs []*job) []failure {
	var fails []failure
	keep := jobs[:0]
	for _, j := range jobs {
		j.w = nil
		switch {
		case p.stopped:
			fails = append(fails, failure{j, errStoppedRunning})
		case p.broken != nil:
			fails = append(fails, failure{j, p.broken})
		case j.ctxDone: // its cancel came too late for this helper: it ends here
			fails = append(fails, failure{j, context.Cause(j.ctx)})
		default:
			j.taken = false
			keep = append(keep, j)
		}
	}
	if len(keep) == 0 {
		return fails
	}
	p.queue.Requeue(keep)
	for _, w := range p.workers {
		if w.parked && w.roomLocked() > 0 {
			w.wakeLocked()
		}
	}
	return fails
}
