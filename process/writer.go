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
	fe := newFrameEncoder(w.p.cfg.maxFrame)
	if !w.sendHello(fe) || !w.awaitReady() {
		return
	}
	var batch, cancelled []*job
	var cancels []wire.Cancel
	for {
		p := w.p
		p.mu.Lock()
		n, end := w.waitForWorkLocked()
		if end != keepWriting {
			p.mu.Unlock()
			if end == closeInput {
				_ = w.toHelper.Close() // the helper exits at EOF; run tears down
			}
			return
		}
		batch, cancelled = w.takeLocked(n, batch, cancelled)
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
		sent := w.encode(fe, batch)
		if !w.commit(sent) {
			return
		}
		for _, c := range cancels { // after the calls they may name
			fe.buf.Write(wire.AppendCancel(fe.hdr[:0], c))
		}
		if len(sent) > 0 && p.testCallsSent != nil {
			// Before the write: once written, the calls may be done and
			// their test ended before this goroutine runs again.
			p.testCallsSent(len(sent))
		}
		if err := fe.flush(w.toHelper); err != nil {
			w.kill(executor.ExitCrashed) // the reader sees EOF and tears down
		}
		if len(cancels) > 0 && p.testCancelsSent != nil {
			p.testCancelsSent(len(cancels))
		}
		clear(batch)
		batch = batch[:0]
	}
}

// sendHello writes the host's hello and the initializer's call. It reports
// false if the helper was killed for it.
func (w *worker) sendHello(fe *frameEncoder) bool {
	p := w.p
	wire.AppendHello(&fe.buf, wire.Hello{Pid: os.Getpid(), MaxFrame: p.cfg.maxFrame, TaskTimeout: p.cfg.taskTimeout})
	if p.cfg.init != nil {
		if err := fe.addCall(0, p.cfg.init, p.cfg.init.Args(), nil); err != nil {
			w.log.Error("cannot encode the initializer's argument", zlog.Error(err))
			w.kill(executor.ExitInitError)
			return false
		}
	}
	if err := fe.flush(w.toHelper); err != nil {
		w.kill(executor.ExitCrashed)
		return false
	}
	return true
}

// awaitReady waits until the helper's hello has been read, and reports
// false if the helper died first. Meanwhile a shutdown may discard it.
func (w *worker) awaitReady() bool {
	for {
		select {
		case <-w.readyCh:
			return true
		case <-w.deadCh:
			return false
		case <-w.wake:
			w.discardIfUnneeded()
		}
	}
}

// writerEnd says whether the writer goes on, and how it ends.
type writerEnd uint8

const (
	keepWriting writerEnd = iota
	helperDead            // the helper is dead: run tears down
	closeInput            // the helper is to exit: close its input
)

// waitForWorkLocked parks the writer until it has tasks to send (n, how
// many it may take) or cancels to send (n may be 0), and says how the
// writer ends otherwise: the helper is dead, or it is to exit (nothing in
// flight, and it is retiring or the pool is shut down with nothing
// queued). p.mu is held, and released while it waits.
func (w *worker) waitForWorkLocked() (n int, end writerEnd) {
	p := w.p
	for {
		if w.dead {
			return 0, helperDead
		}
		if p.queue.Len() > 0 {
			if n = min(w.roomLocked(), p.shareLocked(w)); n > 0 {
				return n, keepWriting
			}
		}
		if len(w.cancels) > 0 {
			return 0, keepWriting
		}
		if w.inflight.Len() == 0 && (w.retiring || (p.closed && p.queue.Len() == 0)) {
			if w.reason == "" {
				w.reason = executor.ExitShutdown
				if w.retiring {
					w.reason = executor.ExitMaxTasks
				}
			}
			return 0, closeInput
		}
		w.parked = true
		p.mu.Unlock()
		<-w.wake
		p.mu.Lock()
	}
}

// takeLocked moves up to n tasks from the queue into batch, numbering them
// for this helper; tasks whose future was cancelled meanwhile go to
// cancelled instead, and tasks whose ctx ended are dropped (ctxEnded failed
// them). It stops early when the helper reaches its maximum of tasks.
func (w *worker) takeLocked(n int, batch, cancelled []*job) ([]*job, []*job) {
	p := w.p
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
	return batch, cancelled
}

// encode appends the call frames of batch to fe and returns the jobs whose
// frames it holds (in batch's memory); a job whose arguments cannot be
// encoded fails. Consecutive calls that can share a frame (batchLen) go in
// one, their arguments one gob value; if that frame cannot be made (an
// argument gob refuses, a frame over the limit), they go one per frame, so
// that only a call whose own arguments cannot be encoded fails.
func (w *worker) encode(fe *frameEncoder, batch []*job) []*job {
	sent := batch[:0]
	for i := 0; i < len(batch); {
		k := i + batchLen(batch[i:])
		if k-i > 1 && fe.addBatch(w.p.lookup(batch[i].r.FuncName()), batch[i:k]) == nil {
			sent = append(sent, batch[i:k]...)
			i = k
			continue
		}
		for ; i < k; i++ {
			j := batch[i]
			if err := fe.addCall(j.id, j.r, j.args, j.ctx); err != nil {
				w.p.fail(j, fmt.Errorf("process: arguments of %q: %w", j.r.FuncName(), err))
				continue
			}
			sent = append(sent, j)
		}
	}
	return sent
}

// commit records the jobs about to be written as in flight on this
// helper. It reports false if the helper died meanwhile: then the jobs go
// back to the queue (or fail) and the writer ends.
func (w *worker) commit(sent []*job) bool {
	p := w.p
	p.mu.Lock()
	if w.dead { // run is tearing down and waits for us: hand the jobs back
		fails := p.returnLocked(sent)
		p.mu.Unlock()
		for _, f := range fails {
			p.fail(f.j, f.err)
		}
		return false
	}
	for _, j := range sent {
		w.inflight.Push(j)
	}
	p.mu.Unlock()
	return true
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
