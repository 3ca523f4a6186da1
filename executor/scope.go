package executor

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
)

// A scope is the context a GoPool's tasks run with when they were scheduled
// with a ctx other than context.Background() or context.TODO() (those run
// with the pool's own runCtx, which costs nothing per task). It holds a
// context derived from the ctx given to Schedule, so values, deadline and
// cancellation flow in, and Stop cancels it too, with cause ErrStopped.
//
// The tasks scheduled with the same ctx share one scope, as long as one of
// them is accepted and not finished: the scope and its derivation
// (context.WithCancelCause and its registration with the parent: six
// allocations in all, of which three make the parent's done channel and
// list of children if it has none yet) and the watch on the parent for
// tasks that wait in the queue for a busy worker (context.AfterFunc, two
// allocations; see queuedLocked) are paid once per ctx, not once per task. A ctx that is not a pointer (so may not be
// hashable) gets a scope of its own per task. Once its last task has
// finished, the scope is released: its context is cancelled, which removes
// it from its parent. Only the scope entered last (p.last) lingers while
// idle, until a task with another ctx comes or the pool is released, so that
// a caller that submits and waits, again and again with one ctx, pays for
// the scope once: one context and its registration is all it keeps.
//
// A scope's fields other than expired are guarded by p.mu, or immutable.
type scope struct {
	p      *GoPool
	parent context.Context         // the ctx given to Schedule
	ctx    context.Context         // derived from parent: the tasks' ctx
	cancel context.CancelCauseFunc // cancels ctx: Stop, or the release
	key    any                     // in p.scopes: parent, or the scope itself

	refs    int         // tasks accepted and not finished
	queued  int         // of which in p.queue
	unwatch func() bool // stops the AfterFunc on parent; nil while not watched

	// expired is set, before the sweep, when parent has ended: queued
	// tasks of the scope are then removed from the queue and failed.
	expired atomic.Bool
}

// isBackground reports whether ctx is one of the two empty contexts, whose
// tasks run with p.runCtx: no values, no cancellation, nothing to derive.
// Comparing interfaces never panics here: both empty contexts are of
// comparable types, and values of different types are simply unequal.
func isBackground(ctx context.Context) bool {
	return ctx == context.Background() || ctx == context.TODO()
}

// enterLocked gives e, about to be accepted, the scope of ctx: it finds or
// makes it and counts e in it. It returns ctx's cause, and counts nothing,
// if ctx has ended.
func (p *GoPool) enterLocked(e *entry, ctx context.Context) error {
	s := p.last
	if s == nil || s.parent != ctx { // safe: s.parent is a pointer, see below
		if s != nil && s.refs == 0 {
			p.releaseLocked(s) // it lingered: another ctx comes
		}
		s = nil
		// Only pointers are shared: any other type might not be hashable
		// (a struct holding a slice) and would make the map panic.
		shared := reflect.TypeOf(ctx).Kind() == reflect.Pointer
		if shared && p.scopes != nil {
			s = p.scopes[ctx]
		}
		if s == nil {
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
			s = &scope{p: p, parent: ctx}
			s.ctx, s.cancel = context.WithCancelCause(ctx)
			s.key = any(s)
			if shared {
				s.key = ctx
			}
			if p.scopes == nil {
				p.scopes = make(map[any]*scope)
			}
			p.scopes[s.key] = s
			p.scopesPeak = max(p.scopesPeak, len(p.scopes))
		}
		if shared {
			p.last = s
		}
	}
	// The parent may have ended since the caller looked: then the task must
	// not be queued after the sweep that would have removed it.
	if s.expired.Load() || s.ctx.Err() != nil {
		if s.refs == 0 {
			p.releaseLocked(s)
		}
		return context.Cause(s.ctx)
	}
	s.refs++
	e.s = s
	return nil
}

// leaveLocked counts a task of s finished (or failed without running) and
// releases s after its last one, unless it is p.last, which lingers.
func (p *GoPool) leaveLocked(s *scope) {
	s.refs--
	if s.refs == 0 && p.last != s {
		p.releaseLocked(s)
	}
}

// releaseIdleLocked releases the scope that lingers, if any: for the pool's
// release, once no task is left.
func (p *GoPool) releaseIdleLocked() {
	if s := p.last; s != nil && s.refs == 0 {
		p.releaseLocked(s)
	}
}

// releaseLocked forgets s, stops watching its parent and cancels its
// context, which removes it from the parent's children. Neither call can
// take p.mu, so holding it is safe.
func (p *GoPool) releaseLocked(s *scope) {
	if p.scopes[s.key] == s {
		delete(p.scopes, s.key)
		// A map does not shrink: after a burst of many contexts, let it go.
		if len(p.scopes) == 0 && p.scopesPeak > 1024 {
			p.scopes, p.scopesPeak = nil, 0
		}
	}
	if p.last == s {
		p.last = nil
	}
	if s.unwatch != nil {
		s.unwatch()
		s.unwatch = nil
	}
	s.cancel(nil)
}

// parentDone is the AfterFunc of a scope's parent.
func (s *scope) parentDone() { s.p.expire(s) }

// expire removes from the queue, and fails with their ctx's cause, the
// tasks of s and of every other scope whose parent has ended meanwhile (one
// pass over the queue for all of them). They never run.
func (p *GoPool) expire(s *scope) {
	s.expired.Store(true)
	p.mu.Lock()
	if s.queued == 0 {
		p.mu.Unlock()
		return
	}
	gone := p.queue.remove(func(e entry) bool {
		if e.s != nil && e.s.expired.Load() {
			e.s.queued--
			return true
		}
		return false
	})
	p.roomLocked()
	p.holds++ // until the hooks below have been called
	p.mu.Unlock()
	defer p.unhold()
	for _, e := range gone {
		p.failAs(e, context.Cause(e.s.parent), ctxOutcome(e.s.ctx))
	}
	p.mu.Lock()
	for _, e := range gone {
		p.leaveLocked(e.s)
	}
	p.mu.Unlock()
}

// drainLocked empties the queue and returns its entries, counting them out
// of their scopes (they will not run).
func (p *GoPool) drainLocked() []entry {
	es := p.queue.drain()
	p.unwatched = 0
	for _, e := range es {
		if e.s != nil {
			e.s.queued--
			p.leaveLocked(e.s)
		}
	}
	return es
}

// scopesLocked returns the live scopes, for Stop to cancel.
func (p *GoPool) scopesLocked() []*scope {
	ss := make([]*scope, 0, len(p.scopes))
	for _, s := range p.scopes {
		ss = append(ss, s)
	}
	return ss
}

// ctxOutcome is the outcome of a task that did not run because ctx, its
// context, ended: stopped (Stop), timed out (a deadline) or cancelled,
// whatever the cause it carries.
func ctxOutcome(ctx context.Context) Outcome {
	switch {
	case errors.Is(context.Cause(ctx), ErrStopped):
		return OutcomeStopped
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return OutcomeTimeout
	}
	return OutcomeCancelled
}

// ctxOf returns the context e runs with.
func (p *GoPool) ctxOf(e entry) context.Context {
	if e.s != nil {
		return e.s.ctx
	}
	return p.runCtx
}
