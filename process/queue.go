package process

import (
	"context"
	"errors"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// job is a scheduled task on its way to and through a helper.
type job struct {
	t     driver.Task
	r     driver.Remote
	args  any       // r.Args()
	times *jobTimes // only with hooks
	id    uint64    // call id on its current helper's stream

	// The submit ctx, if it can end (ctx.Done() != nil), and the stop of
	// the context.AfterFunc that reports its end (Executor.ctxEnded).
	ctx  context.Context
	stop func() bool
	w    *worker // p.mu: the worker it was handed to, while it holds it

	solo    bool // sent in a frame of its own, not in a batch (see worker.notRun)
	started bool // t.Start returned true; a re-queued job is not started again
	taken   bool // p.mu: out of the queue: handed to a worker, or failed
	ctxDone bool // p.mu: its ctx ended: it must not start (any more)
}

// jobTimes are the times of a job that hooks are told.
type jobTimes struct {
	at    time.Time // when it was scheduled
	runAt time.Time // when its helper started it
}

// drainLocked empties the pool's queue and returns the jobs to fail or
// cancel, leaving out those whose ctx ended (ctxEnded has failed them).
func (p *Executor) drainLocked() []*job {
	jobs := p.queue.Drain()
	out := jobs[:0]
	for _, j := range jobs {
		if !j.ctxDone {
			j.taken = true
			out = append(out, j)
		}
	}
	return out
}

// ctxEnded runs when the submit ctx of j ends. A job still queued fails at
// once with the ctx's cause (it never runs: whoever takes it from the queue
// drops it). A job a helper holds is cancelled there: the helper cancels
// the call's ctx if it runs, or does not run it; if the call has not
// returned within the cancel grace, its helper's process group is killed.
func (p *Executor) ctxEnded(j *job) {
	cause := context.Cause(j.ctx)
	p.mu.Lock()
	if j.ctxDone {
		p.mu.Unlock()
		return
	}
	if !j.taken {
		j.ctxDone = true
		p.mu.Unlock()
		p.fail(j, cause)
		return
	}
	w := j.w
	if w == nil { // being failed by whoever took it
		p.mu.Unlock()
		return
	}
	j.ctxDone = true
	// A ctx past its deadline ends the call's ctx in the helper with
	// context.DeadlineExceeded, even if its cause is another error
	// (context.WithDeadlineCause), as its own timer there would.
	deadline := errors.Is(j.ctx.Err(), context.DeadlineExceeded) || errors.Is(cause, context.DeadlineExceeded)
	w.cancels = append(w.cancels, wire.Cancel{ID: j.id, Deadline: deadline})
	w.wakeLocked()
	p.mu.Unlock()
	time.AfterFunc(p.cfg.cancelGrace, func() { w.graceOver(j) })
}

// graceOver kills w if it still runs j, whose ctx ended a grace ago.
func (w *worker) graceOver(j *job) {
	p := w.p
	p.mu.Lock()
	head, ok := w.inflight.Peek()
	over := ok && head == j && w.headRunning && !w.dead
	if over {
		w.ignoredCancel = true
	}
	p.mu.Unlock()
	if over {
		w.kill(executor.ExitKilled)
	}
}
