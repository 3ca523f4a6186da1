package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/internal/zlog"
	"github.com/panjf2000/ants/v2"
	"go.uber.org/zap/zapcore"
)

// Shutdown implements Executor: no new work; queued and running work
// finishes (or, with CancelPending, queued work is cancelled); it waits for
// the workers to exit and the goroutines to be released, until ctx ends. If
// ctx ends first, the pool still releases its goroutines by itself once its
// last task has returned.
func (p *GoPool) Shutdown(ctx context.Context, opts ...driver.ShutdownOption) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	sc := driver.ShutdownSettings(opts...)
	var cancelled []entry
	p.mu.Lock()
	first := !p.closed
	p.closeLocked()
	if sc.CancelPending {
		cancelled = p.drainLocked()
	}
	p.wakeLocked()
	p.holds++
	p.mu.Unlock()
	if first {
		p.log.Info("shutdown begun", zlog.Bool("cancel_pending", sc.CancelPending))
	}
	p.cancelQueued(cancelled)
	return p.wait(ctx)
}

// closeLocked makes the pool refuse new tasks.
func (p *GoPool) closeLocked() {
	if !p.closed {
		p.closed = true
		close(p.closing)
	}
}

// Closing returns a channel that is closed when Shutdown or Stop is first
// called: from then on the pool accepts no task. A task waiting for its next
// attempt under a retry policy (NewRetry) fails then at once, with a
// *RetryError that wraps ErrShutdown and the last attempt's error.
func (p *GoPool) Closing() <-chan struct{} { return p.closing }

func (p *GoPool) cancelQueued(queued []entry) {
	defer p.unhold()
	for _, e := range queued {
		e.t.Cancel()
		p.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
	}
}

// Stop implements Executor: queued work fails with ErrStopped, the context of
// running tasks is cancelled with cause ErrStopped (whatever ctx they were
// scheduled with, context.WithoutCancel included), and it waits for the
// running tasks to return, until ctx ends. Goroutines cannot be killed: a task
// that ignores its context keeps its worker until it returns; the pool then
// releases its goroutines by itself, as after Shutdown.
func (p *GoPool) Stop(ctx context.Context) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	p.mu.Lock()
	p.closeLocked()
	queued := p.drainLocked()
	scopes := p.scopesLocked()
	p.wakeLocked()
	p.holds++
	p.mu.Unlock()
	p.stopQueued(queued, scopes)
	return p.wait(ctx)
}

func (p *GoPool) stopQueued(queued []entry, scopes []*scope) {
	defer p.unhold()
	p.stopRun(ErrStopped)
	for _, s := range scopes {
		s.cancel(ErrStopped)
	}
	err := fmt.Errorf("%w before it started", ErrStopped)
	for _, e := range queued {
		p.fail(e, err)
	}
}

// wait waits until the pool is released or ctx ends.
func (p *GoPool) wait(ctx context.Context) error {
	select {
	case <-p.released: // already: even if ctx has ended
		return p.relErr
	default:
	}
	select {
	case <-p.released:
		return p.relErr
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// wakeLocked tells every idle worker to exit and wakes blocked Schedule
// calls. Workers on their way to the queue (spinning) exit once they find
// it empty.
func (p *GoPool) wakeLocked() {
	for _, w := range p.idle {
		w.exit = ExitShutdown
		w.wake <- struct{}{} // buffered: never blocks
	}
	p.idle = nil
	p.roomLocked()
}

// workerGone counts w gone, then calls the WorkerStopped hook, which thus
// never sees w in Stats; the pool is not released before the hook returns.
func (p *GoPool) workerGone(w *worker, reason WorkerExit) {
	p.mu.Lock()
	p.workers--
	p.holds++
	p.mu.Unlock()
	defer p.unhold()
	if ce := p.log.Check(zapcore.DebugLevel, "worker stopped"); ce != nil {
		ce.Write(zlog.Int("worker", w.id), zlog.String("reason", string(reason)))
	}
	p.hooks.OnWorkerStopped(reason)
}

// checkDoneLocked starts releasing the pool once it is closed, its last
// worker has exited and no call it waits for (p.holds) is still at work:
// from then on nothing uses what the pool holds.
func (p *GoPool) checkDoneLocked() {
	if p.closed && p.workers == 0 && p.holds == 0 && !p.releasing {
		p.releasing = true
		go p.releaseAll()
	}
}

// releaseAll releases what the pool holds: it stops the reaper, cancels the
// tasks' context, releases ants' goroutines and the hooks' registration
// (Hooks.Own), whether or not a Shutdown or Stop call waits. It runs on a
// goroutine of its own because the last worker exits on an ants goroutine,
// inside loop, and ants' ReleaseContext waits for every ants goroutine to
// end. That wait is short: no task is left to run.
func (p *GoPool) releaseAll() {
	defer close(p.released)
	close(p.stopReap)
	<-p.reaped
	p.mu.Lock()
	p.releaseIdleLocked()
	p.mu.Unlock()
	p.stopRun(ErrShutdown)
	if err := p.ants.ReleaseContext(context.Background()); err != nil && !errors.Is(err, ants.ErrPoolClosed) {
		p.relErr = fmt.Errorf("executor: releasing goroutines: %w", err)
		p.log.Error("releasing goroutines failed", zlog.Error(err))
	}
	if p.release != nil {
		p.release()
	}
	p.log.Info("shutdown done")
}

// unhold ends one of p.holds. It is deferred, so that the pool is still
// released if a hook or a done-callback run on the way panics or calls
// runtime.Goexit.
func (p *GoPool) unhold() {
	p.mu.Lock()
	p.holds--
	p.checkDoneLocked()
	p.mu.Unlock()
}
