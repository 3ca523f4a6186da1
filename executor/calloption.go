package executor

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
	"golang.org/x/time/rate"
)

// CallOption configures the tasks of one call of Submit, Call, CallChunk,
// CallChunkInto or Map (package pool passes them on with
// pool.WithTaskOptions): a retry policy (*Retry), a rate (Rate), limits per
// key (*KeyLimit). They work on every executor, because they act around
// Schedule: an attempt is one Schedule, and a retry is a new Schedule of the
// same task on the same executor. A call with no CallOption costs nothing
// more; one with any costs no allocation more either: the state of the
// options is allocated with the task and its future, 150 to 180 bytes more
// (a KeyLimit adds what it states).
type CallOption interface {
	MapOption
	applyCall(*callConfig)
}

type callConfig struct {
	retry *Retry
	rate  *rate.Limiter
	keys  keyLimiter // a *KeyLimit[A]
}

// Rate paces the tasks of a call: before each attempt is scheduled (a retry
// too), it waits until lim allows it (lim.Wait), so that tasks start at most
// at lim's rate. Share one *rate.Limiter between calls to pace them
// together, for instance everything sent to one service. The wait blocks the
// caller of Submit or Call (and the loop of package pool's Imap) and ends
// with ctx: the call then fails with context.Cause(ctx). A nil lim does
// nothing. For a rate per host or per tenant, see KeyLimit.
func Rate(lim *rate.Limiter) CallOption { return rateOption{lim} }

type rateOption struct{ lim *rate.Limiter }

func (o rateOption) applyCall(c *callConfig) { c.rate = o.lim }
func (o rateOption) applyMap(c *mapConfig)   { c.call = append(c.call, o) }

// extra is the state of one task made with call options: what it needs to
// schedule its attempts. It is a field of the task (optFunc, optCall,
// optChunk), allocated with it and its future.
type extra struct {
	cfg  callConfig
	ex   Executor
	ctx  context.Context
	task driver.Task
	fut  future.Awaitable
	idem bool // the function declared itself idempotent

	attempt atomic.Int32 // attempts scheduled so far
	last    error        // the error of the attempt that is retried

	ks      *keyState   // nil without a key limit
	holding bool        // holds a slot of ks; guarded by the KeyLimit's lock
	unpark  func() bool // stops the watch on ctx while waiting for the key

}

// init applies opts for a task of ex and checks them. The options write
// into the extra itself, which is on the heap already: a config on the
// stack would escape (through the interface calls) and cost an allocation
// of its own. With no option that acts (all nil), the task is scheduled
// once, as without options.
func (x *extra) init(ctx context.Context, ex Executor, opts []CallOption) error {
	x.ex, x.ctx = ex, ctx
	for _, o := range opts {
		if o != nil {
			o.applyCall(&x.cfg)
		}
	}
	if x.cfg.retry != nil {
		if err := x.cfg.retry.validate(); err != nil {
			return err
		}
	}
	if x.cfg.keys != nil {
		if err := x.cfg.keys.validate(); err != nil {
			return err
		}
	}
	return nil
}

// bind attaches x to its task: t completes f, fn is its function (for
// Idempotent), arg its first argument (for the key; nil for a closure).
func bind[A, R any](x *extra, t driver.Task, f *future.Future[R], fn any, arg *A) error {
	x.task, x.fut = t, f
	if i, ok := fn.(interface{ Idempotent() bool }); ok {
		x.idem = i.Idempotent()
	}
	if x.cfg.keys != nil {
		kl, ok := x.cfg.keys.(*KeyLimit[A])
		if !ok || arg == nil {
			return fmt.Errorf("executor: %s cannot key a task whose argument is %s", x.cfg.keys.name(), typeName[A](arg != nil))
		}
		x.ks = kl.state(kl.key(*arg))
		// The last attempt also ends when the future is done some other
		// way (an executor skips a task cancelled while it waited): the
		// release is idempotent.
		f.AddDoneCallback(func(*future.Future[R]) { x.ks.leave(x, true) })
	}
	return nil
}

func typeName[A any](ok bool) string {
	if !ok {
		return "a closure (use Call)"
	}
	var a A
	return fmt.Sprintf("%T", a)
}

// start schedules the first attempt. With a key limit the task may wait
// for its key (Start then returns nil and the task is scheduled later).
func (x *extra) start() error {
	x.attempt.Store(1)
	if err := x.pace(); err != nil {
		return err
	}
	if x.ks != nil && !x.ks.enter(x) {
		return nil // parked: scheduled when the key has room
	}
	if err := x.ex.Schedule(x.ctx, x.task); err != nil {
		x.release()
		return err
	}
	return nil
}

// pace waits for the call's rate, if any.
func (x *extra) pace() error {
	if x.cfg.rate == nil {
		return nil
	}
	if err := x.cfg.rate.Wait(x.ctx); err != nil {
		if x.ctx.Err() != nil {
			return context.Cause(x.ctx)
		}
		return fmt.Errorf("executor: rate: %w", err)
	}
	return nil
}

// scheduleGranted schedules an attempt that waited for its key, from the
// goroutine that made room.
func (x *extra) scheduleGranted() {
	if err := x.ex.Schedule(x.ctx, x.task); err != nil {
		x.release()
		x.task.Fail(err)
	}
}

// release gives back the key slot of the attempt that ended, if it holds one.
func (x *extra) release() {
	if x.ks != nil {
		x.ks.leave(x, false)
	}
}

// canRetry reports whether an attempt that failed with err is retried.
func (x *extra) canRetry(err error) bool {
	r := x.cfg.retry
	if err == nil || r == nil || int(x.attempt.Load()) >= r.attempts || x.ctx.Err() != nil || x.fut.Ready() {
		return false
	}
	return r.retryable(err, x.idem)
}

// final returns the error that completes the task: err as it is after one
// attempt, a *RetryError after more.
func (x *extra) final(err error) error {
	if err == nil || x.cfg.retry == nil {
		return err
	}
	if n := int(x.attempt.Load()); n > 1 {
		return &RetryError{Attempts: n, Err: err}
	}
	return err
}

// end is called when an attempt of a one-result task ends with err: it
// gives back the key slot and either arranges a retry (true: do not
// complete the future) or returns the error to complete it with.
func (x *extra) end(err error) (bool, error) {
	x.release()
	if _, ok := err.(*RetryError); ok { // decided already: final
		return false, err
	}
	if x.canRetry(err) {
		x.later(err)
		return true, nil
	}
	return false, x.final(err)
}

// later schedules the next attempt after the backoff, unless ctx ends
// first: then the task fails at once with a *RetryError whose Cause is
// ctx's cause.
func (x *extra) later(err error) {
	n := int(x.attempt.Load())
	d := x.cfg.retry.delay(n, err)
	x.last = err
	if h, ok := x.ex.(interface{ Hooks() *Hooks }); ok {
		h.Hooks().OnRetried(d)
	}
	// One goroutine waits for the first of: the backoff's end, ctx's end,
	// the executor closing (which refuses the next attempt at once).
	var closing <-chan struct{}
	if c, ok := x.ex.(interface{ Closing() <-chan struct{} }); ok {
		closing = c.Closing()
	}
	t := time.NewTimer(d)
	go func() {
		select {
		case <-t.C:
			x.again(true)
		case <-closing:
			t.Stop()
			x.again(false)
		case <-x.ctx.Done():
			t.Stop()
			x.task.Fail(&RetryError{Attempts: n, Err: err, Cause: context.Cause(x.ctx)})
		}
	}()
}

// again schedules the next attempt, after a backoff; paced is false when
// the executor is closing, so that its refusal comes at once, without
// waiting for the rate or the key.
func (x *extra) again(paced bool) {
	n := x.attempt.Add(1)
	fail := func(cause error) {
		x.attempt.Add(-1) // it did not happen
		x.task.Fail(&RetryError{Attempts: int(n - 1), Err: x.last, Cause: cause})
	}
	if paced {
		if err := x.pace(); err != nil {
			fail(err)
			return
		}
		if x.ks != nil && !x.ks.enter(x) {
			return
		}
	}
	if err := x.ex.Schedule(x.ctx, x.task); err != nil {
		x.release()
		fail(err)
	}
}

// The tasks made with call options: the plain ones (task.go) with their
// extra, whose attempts they end through x.end.

// optFunc is a funcTask with call options.
type optFunc[R any] struct {
	funcTask[R]
	x extra
}

// optCall is a callTask with call options.
type optCall[A, R any] struct {
	callTask[A, R]
	x extra
}

// optChunk is a chunkTask with call options; rs is its state between
// attempts under a retry policy (see chunkRetry), nil before the first
// retry.
type optChunk[A, R any] struct {
	chunkTask[A, R]
	x  extra
	rs *chunkRetry[A, R]
}

var (
	_ driver.Task      = (*optFunc[int])(nil)
	_ driver.Remote    = (*optCall[int, int])(nil)
	_ driver.Remote    = (*optChunk[int, int])(nil)
	_ driver.Attempter = (*optChunk[int, int])(nil)
)

// startAttempt is Start for a task with call options: an attempt after the
// first finds its future running already.
func startAttempt[R any](p future.Promise[R], x *extra) bool {
	ok, err := p.SetRunning()
	if err != nil && x.attempt.Load() > 1 {
		return !p.Future().Ready()
	}
	return ok
}

// failAttempt is Fail for a task with call options: the failure may be
// retried.
func failAttempt[R any](p future.Promise[R], x *extra, err error) bool {
	again, e := x.end(err)
	if again {
		return true
	}
	return p.SetError(e) == nil
}

func (t *optFunc[R]) Start() bool         { return startAttempt(t.p, &t.x) }
func (t *optFunc[R]) Fail(err error) bool { return failAttempt(t.p, &t.x, err) }
func (t *optFunc[R]) Attempt() int        { return int(t.x.attempt.Load()) }

func (t *optFunc[R]) Run(ctx context.Context) error {
	v, err := call(t.p, func() (R, error) { return t.fn(ctx) })
	again, e := t.x.end(err)
	if again {
		return err
	}
	_ = t.p.Set(v, e)
	return e
}

func (t *optCall[A, R]) Start() bool         { return startAttempt(t.p, &t.x) }
func (t *optCall[A, R]) Fail(err error) bool { return failAttempt(t.p, &t.x, err) }
func (t *optCall[A, R]) Attempt() int        { return int(t.x.attempt.Load()) }

func (t *optCall[A, R]) Run(ctx context.Context) error {
	v, err := call(t.p, func() (R, error) { return t.fn.Call(ctx, t.arg) })
	again, e := t.x.end(err)
	if again {
		return err
	}
	_ = t.p.Set(v, e)
	return e
}

func (t *optCall[A, R]) Remote() driver.Remote {
	if t.isNamed() {
		return t
	}
	return nil
}

func (t *optCall[A, R]) Finish(err error, _ []error) {
	again, e := t.x.end(err)
	if again {
		return
	}
	t.callTask.Finish(e, nil)
}
