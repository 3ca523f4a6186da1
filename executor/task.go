package executor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
)

// Func is a function an executor can run on an argument of type A. Make one
// from a Go function with Fn (it runs only in this process), or register one
// by name with package process (it runs anywhere).
type Func[A, R any] interface {
	// Call runs the function in this process.
	Call(ctx context.Context, arg A) (R, error)
}

type goFunc[A, R any] func(context.Context, A) (R, error)

func (f goFunc[A, R]) Call(ctx context.Context, a A) (R, error) { return f(ctx, a) }

// Fn returns a Func that calls f. It runs only in this process: remote
// executors reject it with ErrNotRemote.
func Fn[A, R any](f func(context.Context, A) (R, error)) Func[A, R] { return goFunc[A, R](f) }

// Chunk is the result of CallChunk: one value per argument, and, when any
// item failed, one error per argument.
type Chunk[R any] struct {
	// Values holds the results, in the order of the arguments. The value of a
	// failed item is whatever the function returned with its error.
	Values []R
	// Errs is nil when every item succeeded; otherwise len(Errs) == len(Values).
	Errs []error
}

// Err returns the error of item i (nil on success).
func (c Chunk[R]) Err(i int) error {
	if c.Errs == nil {
		return nil
	}
	return c.Errs[i]
}

// Len returns the number of items.
func (c Chunk[R]) Len() int { return len(c.Values) }

// call runs fn and converts a panic into a *PanicError. A runtime.Goexit in
// fn cannot be stopped, so call never returns then: it fails p with a
// *PanicError (Goexit set) on the goroutine's way out.
func call[R any](p future.Promise[R], fn func() (R, error)) (r R, err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
			return
		}
		_ = p.SetError(goexitError("task"))
	}()
	r, err = fn()
	returned = true
	return r, err
}

// promise holds the completing side shared by every task type: the only
// field a plain task (no call options) needs besides its own. Tasks made
// with call options are the opt* types of calloption.go, which embed the
// plain ones and add their state.
type promise[R any] struct {
	p future.Promise[R]
}

func (t *promise[R]) Start() bool {
	ok, _ := t.p.SetRunning()
	return ok
}

func (t *promise[R]) Fail(err error) bool { return t.p.SetError(err) == nil }

func (t *promise[R]) Cancel() bool { return t.p.Future().Cancel() }

// Attempt returns which attempt of the task this Schedule is: 1, or more
// for a retry (NewRetry). Instrumentation reads it through the driver.Attempter
// interface.
func (t *promise[R]) Attempt() int { return 1 }

// named holds a task's Func and answers the Remote questions about it.
type named[A, R any] struct {
	fn Func[A, R]
}

func (n named[A, R]) isNamed() bool {
	_, ok := n.fn.(driver.Named)
	return ok
}

func (n named[A, R]) FuncName() string { return n.fn.(driver.Named).FuncName() }

// funcTask runs a closure.
type funcTask[R any] struct {
	promise[R]
	fn func(context.Context) (R, error)
}

func (t *funcTask[R]) Run(ctx context.Context) error {
	v, err := call(t.p, func() (R, error) { return t.fn(ctx) })
	_ = t.p.Set(v, err)
	return err
}

func (t *funcTask[R]) Remote() driver.Remote { return nil }

// callTask runs a Func on one argument.
type callTask[A, R any] struct {
	promise[R]
	named[A, R]
	arg A
	res R
}

func (t *callTask[A, R]) Run(ctx context.Context) error {
	v, err := call(t.p, func() (R, error) { return t.fn.Call(ctx, t.arg) })
	_ = t.p.Set(v, err)
	return err
}

func (t *callTask[A, R]) Remote() driver.Remote {
	if t.isNamed() {
		return t
	}
	return nil
}

func (t *callTask[A, R]) Chunk() bool { return false }
func (t *callTask[A, R]) Args() any   { return t.arg }
func (t *callTask[A, R]) Result() any { return &t.res }
func (t *callTask[A, R]) Finish(err error, _ []error) {
	if err != nil {
		var zero R
		_ = t.p.Set(zero, err)
		return
	}
	_ = t.p.Set(t.res, nil)
}

// chunkTask runs a Func on each of many arguments.
type chunkTask[A, R any] struct {
	promise[Chunk[R]]
	named[A, R]
	args []A
	res  []R
	dst  []R // CallChunkInto: where the values go
}

func (t *chunkTask[A, R]) Run(ctx context.Context) error {
	c := Chunk[R]{Values: t.dst}
	if c.Values == nil {
		c.Values = make([]R, len(t.args))
	}
	for i := 0; i < len(t.args); {
		i = t.runFrom(ctx, &c, i)
	}
	_ = t.p.SetResult(c)
	return c.firstErr()
}

// runFrom runs the items from i on, until the end or a panic, which it
// records as its item's error; it returns the index to go on from. One
// deferred recover covers a whole run of items, so the per-item cost is the
// call itself (this loop is the hot path of package pool). The loop keeps
// its index in a register and publishes it to pos, which only the recover
// reads. An item that calls runtime.Goexit ends the goroutine, and with it
// the chunk: runFrom then fails the whole future, naming the item. The loop
// looks at ctx every ctxEvery items; once it has ended, the items not
// started do not run: each gets context.Cause(ctx) as its error.
func (t *chunkTask[A, R]) runFrom(ctx context.Context, c *Chunk[R], i int) (next int) {
	var pos int
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			c.setErr(pos, &PanicError{Value: v, Stack: debug.Stack()})
			next = pos + 1
			return
		}
		_ = t.p.SetError(fmt.Errorf("executor: chunk item %d: %w", pos, goexitError("task")))
	}()
	args, vals := t.args, c.Values[:len(t.args)]
	// Blocks of ctxEvery items, between which the loop looks at ctx; the
	// inner loops are as tight as without the look.
	if f, ok := t.fn.(goFunc[A, R]); ok { // a plain Go func: call it directly
		for k := i; k < len(args); {
			if ctx.Err() != nil {
				c.skipFrom(ctx, k)
				break
			}
			for end := min(k+ctxEvery, len(args)); k < end; k++ {
				pos = k
				v, err := f(ctx, args[k])
				vals[k] = v
				if err != nil {
					c.setErr(k, err)
				}
			}
		}
		returned = true
		return len(args)
	}
	for k := i; k < len(args); {
		if ctx.Err() != nil {
			c.skipFrom(ctx, k)
			break
		}
		for end := min(k+ctxEvery, len(args)); k < end; k++ {
			pos = k
			v, err := t.fn.Call(ctx, args[k])
			vals[k] = v
			if err != nil {
				c.setErr(k, err)
			}
		}
	}
	returned = true
	return len(args)
}

// ctxEvery is how many items of a chunk run between two looks at its ctx: a
// look costs about as much as a trivial item (a call and an atomic load), so
// looking before every item would slow such chunks by a quarter, while an
// item that takes long gets the ctx and can watch it itself.
const ctxEvery = 16

// skipFrom gives the items from k on, which will not run, ctx's cause as
// their error.
func (c *Chunk[R]) skipFrom(ctx context.Context, k int) {
	cause := context.Cause(ctx)
	for ; k < len(c.Values); k++ {
		c.setErr(k, cause)
	}
}

func (c *Chunk[R]) setErr(i int, err error) {
	if c.Errs == nil {
		c.Errs = make([]error, len(c.Values))
	}
	c.Errs[i] = err
}

func (c Chunk[R]) firstErr() error {
	for _, err := range c.Errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *chunkTask[A, R]) Remote() driver.Remote {
	if t.isNamed() {
		return t
	}
	return nil
}

func (t *chunkTask[A, R]) Chunk() bool { return true }

func (t *chunkTask[A, R]) Args() any { return t.args }

func (t *chunkTask[A, R]) Result() any { return &t.res }

func (t *chunkTask[A, R]) Finish(err error, itemErrs []error) {
	if err != nil {
		_ = t.p.SetError(err)
		return
	}
	if len(t.res) != len(t.args) {
		_ = t.p.SetError(errors.New("executor: remote chunk returned a different number of results"))
		return
	}
	c := Chunk[R]{Values: t.res}
	if t.dst != nil {
		c.Values = t.dst
		copy(c.Values, t.res)
	}
	for _, e := range itemErrs {
		if e != nil {
			c.Errs = itemErrs
			break
		}
	}
	_ = t.p.SetResult(c)
}

var (
	_ driver.Task   = (*funcTask[int])(nil)
	_ driver.Remote = (*callTask[int, int])(nil)
	_ driver.Remote = (*chunkTask[int, int])(nil)
)

// Submit schedules fn on ex and returns its future.
//
// fn runs with a context derived from ctx: it carries ctx's values and
// deadline, and it is done when ctx is done or when the executor is stopped
// (Stop; the cause is then ErrStopped). So a request's ctx bounds the work
// done for it. Work that must outlive ctx is submitted with
// context.WithoutCancel(ctx), which keeps the values and drops the
// cancellation and the deadline. If ctx ends before fn started, fn never
// runs and the future fails with context.Cause(ctx); if it ends while fn
// runs, fn sees ctx.Done() and the future gets whatever fn returns: an fn
// that returns ctx.Err() fails with context.Canceled or
// context.DeadlineExceeded, one that returns a value after ctx ended
// succeeds, as in Go generally. The context may be cancelled once fn has
// returned: work fn leaves behind must not use it. Future.Cancel only
// cancels a task that has not started (Python's meaning); cancel ctx to stop
// a running one.
//
// Submit blocks only when ex has a bounded queue that applies backpressure,
// until there is room or ctx ends. It fails with ErrShutdown, ErrBroken,
// ErrOverloaded or ctx's cause (also when ctx has already ended), and then
// no future is made. It costs one allocation (the future and the task
// together) besides fn itself; on a GoPool, a ctx other than
// context.Background() or context.TODO() adds, per distinct ctx among the
// tasks not finished, the derived context (see GoPool).
//
// opts are CallOptions: a retry policy (NewRetry), a rate (Rate). With a
// rate, Submit also blocks until the rate allows the task (or ctx ends).
// A KeyLimit needs an argument to key: use Call.
func Submit[R any](ctx context.Context, ex Executor, fn func(context.Context) (R, error), opts ...CallOption) (*future.Future[R], error) {
	if len(opts) > 0 {
		f, p, t := future.NewWith[R](optFunc[R]{funcTask: funcTask[R]{fn: fn}})
		t.p = p
		return withOptions[struct{}](ctx, ex, f, t, &t.x, nil, nil, opts)
	}
	f, p, t := future.NewWith[R](funcTask[R]{fn: fn})
	t.p = p
	if err := ex.Schedule(ctx, t); err != nil {
		return nil, err
	}
	return f, nil
}

// Call schedules fn(arg) on ex and returns its future, as Submit does: fn
// runs with a context derived from ctx (values, deadline and cancellation;
// pass context.WithoutCancel(ctx) for work that must outlive ctx). A remote
// executor needs fn to be registered by name; it carries the deadline and
// the cancellation into the other process, not the values. opts are
// CallOptions (NewRetry, Rate, NewKeyLimit keyed by arg): see Submit and
// KeyLimit; with a KeyLimit whose key is busy, Call returns at once and the
// task is scheduled when the key has room.
func Call[A, R any](ctx context.Context, ex Executor, fn Func[A, R], arg A, opts ...CallOption) (*future.Future[R], error) {
	if len(opts) > 0 {
		f, p, t := future.NewWith[R](optCall[A, R]{callTask: callTask[A, R]{named: named[A, R]{fn}, arg: arg}})
		t.p = p
		return withOptions(ctx, ex, f, t, &t.x, fn, &t.arg, opts)
	}
	f, p, t := future.NewWith[R](callTask[A, R]{named: named[A, R]{fn}, arg: arg})
	t.p = p
	if err := ex.Schedule(ctx, t); err != nil {
		return nil, err
	}
	return f, nil
}

// CallChunk schedules fn over args as one task and returns the future of all
// the results. Each item's error is kept at its position in the Chunk; a
// failure of the whole task (the worker died, the executor stopped) fails the
// future instead. The items run one after another with a context derived
// from ctx, as for Submit; once it has ended, the items not started do not
// run (the chunk looks at ctx every 16 items) and each gets
// context.Cause(ctx) as its error. args is not copied: do not change it until
// the future is done. opts are CallOptions, as for Call: a retry runs only
// the items that failed with a retryable error (see Retry), and a KeyLimit
// keys the chunk by its first item.
func CallChunk[A, R any](ctx context.Context, ex Executor, fn Func[A, R], args []A, opts ...CallOption) (*future.Future[Chunk[R]], error) {
	return callChunk(ctx, ex, fn, args, nil, opts)
}

// CallChunkInto is CallChunk that writes the values into dst, which must
// have one element per argument; the Chunk's Values is then dst. It saves an
// allocation and a copy per chunk for callers that put the results of many
// chunks into one slice, as package pool's Map does. Do not read dst until
// the future is done. A dst of the wrong length is an error, and nothing is
// scheduled.
func CallChunkInto[A, R any](ctx context.Context, ex Executor, fn Func[A, R], args []A, dst []R, opts ...CallOption) (*future.Future[Chunk[R]], error) {
	if len(dst) != len(args) {
		return nil, fmt.Errorf("executor: CallChunkInto: %d results for %d arguments", len(dst), len(args))
	}
	return callChunk(ctx, ex, fn, args, dst, opts)
}

func callChunk[A, R any](ctx context.Context, ex Executor, fn Func[A, R], args []A, dst []R, opts []CallOption) (*future.Future[Chunk[R]], error) {
	if len(opts) > 0 {
		f, p, t := future.NewWith[Chunk[R]](optChunk[A, R]{chunkTask: chunkTask[A, R]{named: named[A, R]{fn}, args: args, dst: dst}})
		t.p = p
		var first *A
		if len(args) > 0 {
			first = &args[0]
		}
		return withOptions(ctx, ex, f, t, &t.x, fn, first, opts)
	}
	f, p, t := future.NewWith[Chunk[R]](chunkTask[A, R]{named: named[A, R]{fn}, args: args, dst: dst})
	t.p = p
	if err := ex.Schedule(ctx, t); err != nil {
		return nil, err
	}
	return f, nil
}

// withOptions schedules t, whose future is f and whose call options' state
// is x (in the same allocation), with the call options opts.
func withOptions[A, R any](ctx context.Context, ex Executor, f *future.Future[R], t driver.Task, x *extra, fn any, arg *A, opts []CallOption) (*future.Future[R], error) {
	if ctx == nil {
		panic("executor: nil Context")
	}
	if err := x.init(ctx, ex, opts); err != nil {
		return nil, err
	}
	if err := bind(x, t, f, fn, arg); err != nil {
		return nil, err
	}
	if err := x.start(); err != nil {
		if x.ks != nil {
			x.ks.leave(x, true)
		}
		return nil, err
	}
	return f, nil
}

func isCancelled(err error) bool { return errors.Is(err, future.ErrCancelled) }
