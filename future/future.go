package future

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// closedChan is returned by Done for futures that were already done when Done
// was first called, so that completed futures never allocate a channel.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Future is the result of an asynchronous computation that will produce a
// value of type T or an error. It is created, pending, by New together with
// the Promise that completes it.
//
// All methods are safe for concurrent use. A Future must not be copied, and
// must be made by New or NewWith: the zero value is not a usable future.
//
// A pending future holds its state, its lock, a WaitGroup (for waits that
// need no channel; unlike a lock, testing/synctest sees a goroutine waiting
// on it as durably blocked), the Done channel once asked for, the value and
// the error, the waiters of Wait and AsCompleted, and a pointer to its
// done-callbacks and callback panic handler, which most futures never
// have: a Future[int] is 80 bytes.
type Future[T any] struct {
	state atomic.Uint32 // a State; written under mu, read lock-free

	mu      sync.Mutex
	wg      sync.WaitGroup // one Add at New, Done at completion: waits that need no channel
	done    chan struct{}  // nil until Done is first called; closed when done
	value   T
	err     error
	waiters *waiterSet // nil until a Wait or AsCompleted waits on it; guarded by mu
	more    *more      // nil until a callback or a panic handler is given; guarded by mu
}

// waiterSet holds the waiters of a future, with room for the first, so
// that it costs one allocation, as a slice of them would, but a pointer in
// every future instead of a slice.
type waiterSet struct {
	ws    []*waiter
	first [1]*waiter
}

// more holds a future's done-callbacks and its callback panic handler. One
// made by WithCallbackPanicHandler is shared, unchanged, by the futures made
// with that Option, until one of them is given a callback and gets a copy
// of its own.
type more struct {
	shared    bool
	onPanic   func(*CallbackPanicError)
	callbacks []any  // the func(*Future[T]) added, in order
	first     [1]any // room for the first, so that it costs no allocation more
}

// callbacksLocked returns f's own more, made if needed, to add a callback.
func (f *Future[T]) callbacksLocked() *more {
	m := f.more
	if m == nil || m.shared {
		own := &more{}
		if m != nil {
			own.onPanic = m.onPanic
		}
		own.callbacks = own.first[:0]
		f.more, m = own, own
	}
	return m
}

// onPanicLocked returns the callback panic handler, nil for the default.
func (f *Future[T]) onPanicLocked() func(*CallbackPanicError) {
	if f.more == nil {
		return nil
	}
	return f.more.onPanic
}

// Promise is the completing side of a Future: the executor (or any producer)
// uses it to mark the future running and to set its outcome. A Promise is a
// small value; copies refer to the same future. Its methods are safe for
// concurrent use, and exactly one completion wins.
type Promise[T any] struct {
	f *Future[T]
}

// Option configures a Future created by New.
type Option interface {
	apply(*config)
}

type config struct {
	more *more // shared: see more
}

type optionFunc func(*config)

func (o optionFunc) apply(c *config) { o(c) }

// WithCallbackPanicHandler sets the function that receives a done-callback's
// panic (recovered; the remaining callbacks still run). Without it the panic is
// logged through log/slog's default logger. Executors pass their own logger
// here. Build the Option once and reuse it: it costs nothing per future.
func WithCallbackPanicHandler(h func(*CallbackPanicError)) Option {
	m := &more{shared: true, onPanic: h}
	return optionFunc(func(c *config) { c.more = m })
}

// New returns a pending Future and the Promise that completes it. It does not
// block; it costs one allocation.
func New[T any](opts ...Option) (*Future[T], Promise[T]) {
	f := &Future[T]{}
	f.init(opts)
	return f, Promise[T]{f}
}

// NewWith is New for executors: it allocates the future together with x, the
// executor's own state for the task, in one allocation, and returns a pointer
// to that copy of x as well. It does not block.
func NewWith[T, X any](x X, opts ...Option) (*Future[T], Promise[T], *X) {
	b := &struct {
		f Future[T]
		x X
	}{x: x}
	b.f.init(opts)
	return &b.f, Promise[T]{&b.f}, &b.x
}

func (f *Future[T]) init(opts []Option) {
	f.wg.Add(1)
	if len(opts) > 0 {
		var c config
		for _, o := range opts {
			o.apply(&c)
		}
		f.more = c.more
	}
}

// Completed returns a future already finished with v.
func Completed[T any](v T) *Future[T] {
	f, p := New[T]()
	_ = p.SetResult(v)
	return f
}

// Failed returns a future already finished with err (which must not be nil).
func Failed[T any](err error) *Future[T] {
	f, p := New[T]()
	_ = p.SetError(err)
	return f
}

// State returns the future's current state. It does not block.
func (f *Future[T]) State() State { return State(f.state.Load()) }

// Ready reports whether the future is done: finished or cancelled
// (Python's done(), multiprocessing's AsyncResult.ready()). It does not block.
func (f *Future[T]) Ready() bool { return f.State().Done() }

// Cancelled reports whether the future was cancelled. It does not block.
func (f *Future[T]) Cancelled() bool { return f.State() == Cancelled }

// Running reports whether the work is running now. It does not block.
func (f *Future[T]) Running() bool { return f.State() == Running }

// Done returns a channel that is closed when the future is done, for use in
// select. It does not block. The channel is made on the first call, so futures
// that nobody selects on never allocate one.
func (f *Future[T]) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		if f.State().Done() {
			f.done = closedChan
		} else {
			f.done = make(chan struct{})
		}
	}
	return f.done
}

// Result waits until the future is done or ctx ends, and returns the value and
// the error of the computation. A cancelled future returns ErrCancelled. If ctx
// ends first, Result returns context.Cause(ctx) and the future is unchanged.
// A ctx that has already ended still returns the outcome of a done future.
// ctx must not be nil.
func (f *Future[T]) Result(ctx context.Context) (T, error) {
	if err := f.wait(ctx); err != nil {
		var zero T
		return zero, err
	}
	return f.value, f.err
}

// Err waits like Result and returns only the error: nil on success,
// the task's error, ErrCancelled, or ctx's cause (Python's exception()).
func (f *Future[T]) Err(ctx context.Context) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	return f.err
}

// Successful reports whether the future finished without error. It does not
// block: before the future is done it returns ErrNotReady, as multiprocessing's
// AsyncResult.successful raises ValueError.
func (f *Future[T]) Successful() (bool, error) {
	if !f.Ready() {
		return false, ErrNotReady
	}
	return f.err == nil, nil
}

// wait blocks until done or ctx ends. After it returns nil, value and err are
// final and visible: they are written before the atomic store of the final
// state that the load here observes.
func (f *Future[T]) wait(ctx context.Context) error {
	if ctx == nil {
		panic("future: nil Context")
	}
	if f.State().Done() {
		return nil
	}
	if ctx.Done() == nil { // ctx never ends: wait without making a channel
		f.wg.Wait()
		return nil
	}
	select {
	case <-f.Done():
		return nil
	case <-ctx.Done():
		if f.State().Done() { // both ready: the outcome wins
			return nil
		}
		return context.Cause(ctx)
	}
}

// Cancel cancels a pending future: it becomes Cancelled, every waiter wakes
// and the done-callbacks run in the calling goroutine. It returns true if the
// future is now cancelled (also when it already was; callbacks do not run
// again) and false if it is running or finished, which it leaves unchanged.
func (f *Future[T]) Cancel() bool {
	f.mu.Lock()
	switch f.State() {
	case Cancelled:
		f.mu.Unlock()
		return true
	case Running, Finished:
		f.mu.Unlock()
		return false
	}
	f.err = ErrCancelled
	f.completeLocked(Cancelled)
	return true
}

// AddDoneCallback arranges for fn to be called with the future once it is
// done. Callbacks run in the order added, each once, in the goroutine that
// completes or cancels the future; if the future is already done, fn runs at
// once in the caller. Adding the same fn twice runs it twice. A callback that
// panics is recovered and reported (see WithCallbackPanicHandler); the others
// still run. A callback that calls runtime.Goexit is reported too and the
// others still run, but the goroutine then exits, as Goexit demands.
// Callbacks should be quick: they delay the completing goroutine.
func (f *Future[T]) AddDoneCallback(fn func(*Future[T])) {
	f.mu.Lock()
	if !f.State().Done() {
		m := f.callbacksLocked()
		m.callbacks = append(m.callbacks, fn)
		f.mu.Unlock()
		return
	}
	onPanic := f.onPanicLocked()
	f.mu.Unlock()
	f.runCallback(fn, onPanic)
}

// completeLocked publishes the final state, wakes waiters and runs callbacks.
// It is called with f.mu held and releases it.
func (f *Future[T]) completeLocked(s State) {
	f.state.Store(uint32(s))
	if f.done != nil {
		close(f.done)
	}
	f.wg.Done()
	var cbs []any
	if m := f.more; m != nil && !m.shared {
		cbs, m.callbacks = m.callbacks, nil
	}
	onPanic := f.onPanicLocked()
	ws := f.waiters
	f.waiters = nil
	f.mu.Unlock()
	if ws != nil {
		for _, w := range ws.ws {
			w.notify(f)
		}
	}
	if len(cbs) > 0 {
		f.runCallbacks(cbs, onPanic)
	}
}

// runCallbacks runs cbs, func(*Future[T]) each, in order. A callback that
// calls runtime.Goexit ends the goroutine, which nothing can stop, but the
// callbacks after it still run first, from a deferred call on the
// goroutine's way out.
func (f *Future[T]) runCallbacks(cbs []any, onPanic func(*CallbackPanicError)) {
	next := 0
	defer func() {
		if next < len(cbs) {
			f.runCallbacks(cbs[next:], onPanic)
		}
	}()
	for next < len(cbs) {
		cb := cbs[next].(func(*Future[T]))
		next++
		f.runCallback(cb, onPanic)
	}
}

// runCallback runs fn, recovering a panic, and reports a panic or a
// runtime.Goexit (which goes on: it cannot be stopped) as a
// *CallbackPanicError, to onPanic if not nil.
func (f *Future[T]) runCallback(fn func(*Future[T]), onPanic func(*CallbackPanicError)) {
	returned := false
	defer func() {
		if returned {
			return
		}
		e := &CallbackPanicError{Value: recover()}
		if e.Value == nil {
			e.Value, e.Goexit = "runtime.Goexit called in done-callback", true
		}
		e.Stack = debug.Stack()
		if onPanic != nil {
			onPanic(e)
			return
		}
		slog.Error(e.Error(), "stack", string(e.Stack))
	}()
	fn(f)
	returned = true
}

// subscribe registers w to be notified when f is done. It reports false, and
// registers nothing, if f is already done.
func (f *Future[T]) subscribe(w *waiter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.State().Done() {
		return false
	}
	if f.waiters == nil {
		f.waiters = &waiterSet{}
		f.waiters.ws = f.waiters.first[:0]
	}
	f.waiters.ws = append(f.waiters.ws, w)
	return true
}

// unsubscribe removes w, so that abandoned waits keep no reference.
func (f *Future[T]) unsubscribe(w *waiter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiters == nil {
		return
	}
	ws := f.waiters.ws
	for i, x := range ws {
		if x == w {
			last := len(ws) - 1
			ws[i] = ws[last]
			ws[last] = nil
			f.waiters.ws = ws[:last]
			return
		}
	}
}

// failed reports whether f finished with an error (not cancellation). Only
// meaningful once done.
func (f *Future[T]) failed() bool {
	return f.State() == Finished && f.err != nil
}

// Future returns the future this promise completes.
func (p Promise[T]) Future() *Future[T] { return p.f }

// SetRunning moves a pending future to Running and returns true, so that it
// can no longer be cancelled; it returns false if the future was cancelled, in
// which case the work must be skipped (Python's set_running_or_notify_cancel).
// On a running or finished future it returns false and an ErrInvalidState error.
func (p Promise[T]) SetRunning() (bool, error) {
	f := p.f
	f.mu.Lock()
	defer f.mu.Unlock()
	switch s := f.State(); s {
	case Pending:
		f.state.Store(uint32(Running))
		return true, nil
	case Cancelled:
		return false, nil
	default:
		return false, invalidState("SetRunning", s)
	}
}

// SetResult finishes the future with v. On a done future it returns an
// ErrInvalidState error and the first outcome stays. It runs the done-callbacks
// in the calling goroutine before it returns.
func (p Promise[T]) SetResult(v T) error { return p.complete("SetResult", v, nil) }

// SetError finishes the future with err. Any non-nil error counts as failure;
// a nil err finishes the future successfully with the zero value. On a done
// future it returns an ErrInvalidState error and the first outcome stays.
func (p Promise[T]) SetError(err error) error {
	var zero T
	return p.complete("SetError", zero, err)
}

// Set finishes the future with v and err, as a function returning (v, err)
// would: the value is kept even when err is not nil. Otherwise as SetResult.
func (p Promise[T]) Set(v T, err error) error { return p.complete("Set", v, err) }

func (p Promise[T]) complete(op string, v T, err error) error {
	f := p.f
	f.mu.Lock()
	if s := f.State(); s.Done() {
		f.mu.Unlock()
		return invalidState(op, s)
	}
	f.value, f.err = v, err
	f.completeLocked(Finished)
	return nil
}
