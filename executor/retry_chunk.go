package executor

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/gofutures/gofutures/executor/driver"
)

// chunkRetry is the state of a chunk between attempts under a retry
// policy: the outcome so far, and the items the next attempt runs, with
// their arguments (a remote executor is sent only those). The first
// attempt runs every item; it is made when the first retry is arranged.
type chunkRetry[A, R any] struct {
	c    Chunk[R]
	redo []int
	sub  []A
}

func (t *optChunk[A, R]) Start() bool  { return startAttempt(t.p, &t.x) }
func (t *optChunk[A, R]) Attempt() int { return int(t.x.attempt.Load()) }

func (t *optChunk[A, R]) Remote() driver.Remote {
	if t.isNamed() {
		return t
	}
	return nil
}

// Args returns the arguments of the attempt: every item's, then, for a
// retry, only those of the items it runs again.
func (t *optChunk[A, R]) Args() any {
	if t.rs != nil {
		return t.rs.sub
	}
	return t.args
}

// Run runs the attempt: every item, or, for a retry, the items to run again.
func (t *optChunk[A, R]) Run(ctx context.Context) error {
	rs := t.rs
	if rs == nil { // the first attempt
		c := Chunk[R]{Values: t.dst}
		if c.Values == nil {
			c.Values = make([]R, len(t.args))
		}
		for i := 0; i < len(t.args); {
			i = t.runFrom(ctx, &c, i)
		}
		return t.settle(&c, nil)
	}
	c := &rs.c
	for _, i := range rs.redo {
		t.runItem(ctx, c, i)
	}
	return t.settle(c, rs.redo)
}

// runItem runs item i again, recovering a panic into its error.
func (t *optChunk[A, R]) runItem(ctx context.Context, c *Chunk[R], i int) {
	c.Errs[i] = nil
	if ctx.Err() != nil {
		c.Errs[i] = context.Cause(ctx)
		return
	}
	defer func() {
		if v := recover(); v != nil {
			c.Errs[i] = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	v, err := t.fn.Call(ctx, t.args[i])
	c.Values[i] = v
	c.Errs[i] = err
}

// Finish completes the attempt that ran remotely.
func (t *optChunk[A, R]) Finish(err error, itemErrs []error) {
	if err != nil { // the attempt failed as a whole: retried whole
		again, e := t.x.end(err)
		if again {
			t.res = nil
			return
		}
		t.failItems(e)
		return
	}
	rs := t.rs
	n := len(t.args)
	if rs != nil {
		n = len(rs.redo)
	}
	if len(t.res) != n || (itemErrs != nil && len(itemErrs) != n) {
		t.x.release()
		_ = t.p.SetError(errors.New("executor: remote chunk returned a different number of results"))
		return
	}
	if rs == nil { // the first attempt
		c := Chunk[R]{Values: t.res}
		if t.dst != nil {
			c.Values = t.dst
			copy(c.Values, t.res)
		}
		for i, e := range itemErrs {
			if e != nil {
				c.setErr(i, e)
			}
		}
		t.settle(&c, nil)
		return
	}
	c := &rs.c
	for k, i := range rs.redo {
		c.Values[i] = t.res[k]
		c.Errs[i] = nil
		if itemErrs != nil {
			c.Errs[i] = itemErrs[k]
		}
	}
	t.settle(c, rs.redo)
}

// settle decides, once an attempt of the items ran (nil: all) has ended
// with the outcome c, which failed items are retried; it completes the
// future if none is.
func (t *optChunk[A, R]) settle(c *Chunk[R], ran []int) error {
	x := &t.x
	x.release()
	var again []int
	each := func(i int) {
		if e := c.Err(i); e != nil {
			if x.canRetry(e) {
				again = append(again, i)
			} else {
				c.Errs[i] = x.final(e)
			}
		}
	}
	if ran == nil {
		for i := range t.args {
			each(i)
		}
	} else {
		for _, i := range ran {
			each(i)
		}
	}
	first := c.firstErr()
	if len(again) > 0 {
		rs := t.rs
		if rs == nil {
			rs = &chunkRetry[A, R]{c: *c}
			t.rs = rs
		}
		rs.redo = again
		rs.sub = make([]A, len(again))
		for k, i := range again {
			rs.sub[k] = t.args[i]
		}
		t.res = nil
		x.later(rs.c.Errs[again[0]])
		return first
	}
	if first == nil {
		c.Errs = nil
	}
	_ = t.p.SetResult(*c)
	return first
}

// Fail fails the task; a chunk that has results from earlier attempts
// keeps them, and only the items still to retry get the error.
func (t *optChunk[A, R]) Fail(err error) bool {
	if t.rs == nil {
		return failAttempt(t.p, &t.x, err)
	}
	again, e := t.x.end(err)
	if again {
		t.res = nil
		return true
	}
	return t.failItems(e)
}

// failItems completes the future with err as the error of the items still
// to retry, or fails it whole if there were no earlier attempts.
func (t *optChunk[A, R]) failItems(err error) bool {
	rs := t.rs
	if rs == nil {
		return t.p.SetError(err) == nil
	}
	for _, i := range rs.redo {
		rs.c.Errs[i] = err
	}
	return t.p.SetResult(rs.c) == nil
}
