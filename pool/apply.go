package pool

import (
	"context"
	"fmt"
	"sync"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// Apply runs fn(arg) on the pool and waits for its result (Python's
// apply). fn runs with a context derived from ctx (see executor.Submit). It
// blocks until the result is ready or ctx ends; when ctx ends first, the
// call is cancelled if it has not started (else fn sees ctx.Done()), and
// Apply returns ctx's cause. The function's own error is returned as is. Apply fails with
// ErrClosed after Close or Terminate, and with the executor's error if it
// does not accept the work. ctx must not be nil.
func Apply[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], arg A, opts ...CallOption) (R, error) {
	f, err := ApplyAsync(ctx, p, fn, arg, opts...)
	if err != nil {
		var zero R
		return zero, err
	}
	return f.Result(ctx)
}

// ApplyAsync schedules fn(arg) on the pool and returns the future of its
// result (Python's apply_async; the future's Result, Err, Done, Ready and
// Successful are AsyncResult's get, wait, ready and successful). The options
// WithCallback (func(R)) and WithErrorCallback set functions run before the
// result is ready. fn runs with a context derived from ctx, which also bounds
// the call: if it ends first (or has ended already), the call is cancelled if
// it has not started (else fn sees ctx.Done()) and the future fails with
// ctx's cause. Cancelling the future cancels the call only if it has not
// started (Python's meaning).
//
// ApplyAsync blocks only while the executor applies backpressure. It fails,
// without a future, with ErrClosed after Close or Terminate, with the
// executor's error if it does not accept the work, or if WithCallback has the
// wrong type. Each call costs a few allocations (the future, the task and
// their bookkeeping). ctx must not be nil.
func ApplyAsync[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], arg A, opts ...CallOption) (*future.Future[R], error) {
	if ctx == nil {
		panic("pool: nil Context")
	}
	cfg, err := newCallConfig(opts)
	if err != nil {
		return nil, err
	}
	onOK, err := successCallback[R](&cfg)
	if err != nil {
		return nil, err
	}
	out, promise := future.New[R]()
	j := &applyJob[R]{p: p, ctx: ctx, prog: newProgress(p, &cfg, 1)}
	j.res = result[R]{p: p, promise: promise, onOK: onOK, onErr: cfg.onError}
	if err := p.add(j); err != nil {
		return nil, err
	}
	work, err := executor.Call(ctx, p.ex, fn, arg, cfg.task...)
	if err != nil {
		if ctx.Err() != nil { // ended, maybe before the call: as if during it
			var zero R
			j.res.finish(zero, context.Cause(ctx))
			p.remove(j)
			return out, nil
		}
		j.res.claimed.Store(true)
		p.remove(j)
		return nil, fmt.Errorf("pool: %w", err)
	}
	j.setWork(work)
	out.AddDoneCallback(j.resultDone)
	if ctx.Done() != nil {
		j.stopCtx = context.AfterFunc(ctx, func() { j.abort(context.Cause(ctx)) })
	}
	work.AddDoneCallback(j.workDone)
	return out, nil
}

// applyJob is the outstanding work of one ApplyAsync.
type applyJob[R any] struct {
	p       *Pool
	ctx     context.Context // the call's, until the job is done
	res     result[R]
	prog    *progress
	stopCtx func() bool

	mu      sync.Mutex
	work    *future.Future[R]
	abandon bool // cancel work as soon as it is set
}

func (j *applyJob[R]) setWork(f *future.Future[R]) {
	j.mu.Lock()
	j.work = f
	ab := j.abandon
	j.mu.Unlock()
	if ab {
		f.Cancel()
	}
}

// cancelWork cancels the task if it has not started.
func (j *applyJob[R]) cancelWork() {
	j.mu.Lock()
	j.abandon = true
	f := j.work
	j.mu.Unlock()
	if f != nil {
		f.Cancel()
	}
}

// abort cancels the task if it has not started and fails the result with
// err, in this order: once the caller sees the error, the task will not start.
func (j *applyJob[R]) abort(err error) {
	claimed := j.res.claimed.CompareAndSwap(false, true)
	j.cancelWork()
	if claimed {
		var zero R
		j.res.complete(zero, err)
	}
}

func (j *applyJob[R]) terminate(err error) { j.abort(err) }

// resultDone propagates a cancellation of the caller's future to the task.
func (j *applyJob[R]) resultDone(f *future.Future[R]) {
	if f.Cancelled() {
		j.res.claimed.Store(true)
		j.cancelWork()
	}
}

// workDone runs in the goroutine that completed the task.
func (j *applyJob[R]) workDone(f *future.Future[R]) {
	v, err := f.Result(context.Background()) // done: does not block
	if !f.Cancelled() {
		j.prog.add(1)
	}
	if err != nil && j.ctx.Err() != nil {
		// Failed after ctx ended: the call failed because ctx ended (as
		// abort, which this may beat, would say).
		err = context.Cause(j.ctx)
	}
	j.res.finish(v, err)
	if j.stopCtx != nil {
		j.stopCtx()
	}
	j.p.remove(j)
}
