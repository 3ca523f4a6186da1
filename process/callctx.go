package process

import (
	"context"
	"slices"
	"sync"
	"time"
)

// callCtx is the ctx a call runs with in its helper when it can end: at its
// deadline (the caller's, or the task timeout from its start) by its own
// timer, or when the host's cancel frame says the caller's ctx ended. The
// host may see the caller's deadline pass, and its frame arrive, before the
// helper's timer fires: a frame that says so ends the ctx with
// context.DeadlineExceeded too, so that the call sees the same error
// whichever comes first. Otherwise a frame ends it with context.Canceled.
// Its cause (context.Cause) is its error: causes do not cross the process
// boundary.
//
// It implements the AfterFunc method that package context uses for
// contexts of other types, so that contexts derived from it end with it,
// with its error, and without a goroutine each.
type callCtx struct {
	parent   context.Context // values only (context.WithoutCancel)
	deadline time.Time       // zero: none
	done     chan struct{}

	mu    sync.Mutex
	timer *time.Timer
	err   error
	funcs []*func() // AfterFunc's, run when it ends
}

var _ context.Context = (*callCtx)(nil)

// newCallCtx returns a ctx with the values of parent (and none of its
// cancellation), ending at deadline unless it is zero.
func newCallCtx(parent context.Context, deadline time.Time) *callCtx {
	c := &callCtx{parent: context.WithoutCancel(parent), deadline: deadline, done: make(chan struct{})}
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			c.end(context.DeadlineExceeded)
			return c
		}
		c.mu.Lock() // the timer may fire before it is stored
		c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded) })
		c.mu.Unlock()
	}
	return c
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }
func (c *callCtx) Done() <-chan struct{}       { return c.done }
func (c *callCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callCtx) String() string { return "process.callCtx" }

// end ends the ctx with err, unless it has ended.
func (c *callCtx) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.done)
	funcs, timer := c.funcs, c.timer
	c.funcs = nil
	c.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	for _, f := range funcs {
		(*f)()
	}
}

// AfterFunc arranges for f to run when c ends (package context calls it to
// end the contexts derived from c, and for context.AfterFunc); stop keeps
// it from running and reports whether it did.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	p := &f
	c.funcs = append(c.funcs, p)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.funcs, p)
		if i < 0 {
			return false
		}
		c.funcs = slices.Delete(c.funcs, i, i+1)
		return true
	}
}
