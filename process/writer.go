package process

import (
	"fmt"
	"os"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process/internal/wire"
	"go.uber.org/zap"
)

// writeLoop sends the hello and the initializer, then, once the helper is
// ready, batches of queued tasks; it closes the helper's input when the
// helper is to exit gracefully.
func (w *worker) writeLoop() {
	defer close(w.writerDone)
	p := w.p
	fe := newFrameEncoder(p.cfg.maxFrame)
	if err := wire.AppendHello(&fe.buf, wire.Hello{Pid: os.Getpid(), MaxFrame: p.cfg.maxFrame}); err != nil {
		w.kill(executor.ExitCrashed)
		return
	}
	if p.cfg.init != nil {
		if err := fe.addCall(0, p.cfg.init); err != nil {
			w.log.Error("cannot encode the initializer's argument", zap.Error(err))
			w.kill(executor.ExitInitError)
			return
		}
	}
	if err := fe.flush(w.toHelper); err != nil {
		w.kill(executor.ExitCrashed)
		return
	}
	select {
	case <-w.readyCh:
	case <-w.deadCh:
		return
	}
	var batch, cancelled []*job
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
		p.mu.Unlock()
		for range cancelled {
			p.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeCancelled})
		}
		clear(cancelled)
		cancelled = cancelled[:0]
		sent := batch[:0]
		for _, j := range batch {
			if err := fe.addCall(j.id, j.r); err != nil {
				p.fail(j, fmt.Errorf("process: arguments of %q: %w", j.r.FuncName(), err))
				continue
			}
			sent = append(sent, j)
		}
		p.mu.Lock()
		if w.dead { // run is tearing down and waits for us: hand the jobs back
			back, err := p.returnLocked(sent)
			p.mu.Unlock()
			for _, j := range back {
				p.fail(j, err)
			}
			return
		}
		for _, j := range sent {
			w.inflight.Push(j)
		}
		p.mu.Unlock()
		if err := fe.flush(w.toHelper); err != nil {
			w.kill(executor.ExitCrashed) // the reader sees EOF and tears down
		}
		clear(batch)
		batch = batch[:0]
	}
}

var errStoppedRunning = fmt.Errorf("%w: its helper was killed", executor.ErrStopped)

// returnLocked puts jobs that a dead worker held but did not run back in
// the queue, or returns them and the error to fail them with if the pool is
// stopped or broken.
func (p *Pool) returnLocked(jobs []*job) ([]*job, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if p.stopped {
		return jobs, errStoppedRunning
	}
	if p.broken != nil {
		return jobs, p.broken
	}
	p.queue.Requeue(jobs)
	for _, w := range p.workers {
		if w.parked && w.roomLocked() > 0 {
			w.wakeLocked()
		}
	}
	return nil, nil
}
