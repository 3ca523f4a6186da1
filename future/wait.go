package future

import (
	"context"
	"fmt"
	"iter"
	"sync"
)

// Awaitable is the part of a future that does not depend on its result type,
// so that Wait and AsCompleted can take futures of different types (from
// different executors) in one call. Every *Future[T] implements it; other types
// cannot, because it has unexported methods.
type Awaitable interface {
	// State returns the current state without blocking.
	State() State
	// Ready reports whether the future is done, without blocking.
	Ready() bool
	// Done returns a channel closed when the future is done.
	Done() <-chan struct{}
	// Cancel cancels the future if it is pending; see Future.Cancel.
	Cancel() bool
	// Err waits for the future and returns its error; see Future.Err.
	Err(ctx context.Context) error

	subscribe(w *waiter) bool
	unsubscribe(w *waiter)
	failed() bool
}

var _ Awaitable = (*Future[int])(nil)

// WaitMode says when Wait returns.
type WaitMode int

// The modes of Wait, as Python's return_when.
const (
	// AllCompleted returns when every future is done.
	AllCompleted WaitMode = iota
	// FirstCompleted returns when any future is done (one already done counts).
	FirstCompleted
	// FirstError returns when any future finishes with an error (cancellation
	// does not count), or else when every future is done.
	FirstError
)

// String returns the mode's Python name.
func (m WaitMode) String() string {
	switch m {
	case AllCompleted:
		return "ALL_COMPLETED"
	case FirstCompleted:
		return "FIRST_COMPLETED"
	case FirstError:
		return "FIRST_EXCEPTION"
	}
	return fmt.Sprintf("WaitMode(%d)", int(m))
}

// waiter collects futures as they complete, for Wait and AsCompleted.
type waiter struct {
	mu     sync.Mutex
	ready  []Awaitable
	signal chan struct{} // buffered 1: "ready is not empty"
}

func newWaiter() *waiter { return &waiter{signal: make(chan struct{}, 1)} }

func (w *waiter) notify(a Awaitable) {
	w.mu.Lock()
	w.ready = append(w.ready, a)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// take returns the futures that completed since the last call.
func (w *waiter) take() []Awaitable {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.ready
	w.ready = nil
	return r
}

// dedup returns fs without repeats, keeping the first occurrence.
func dedup[F Awaitable](fs []F) []F {
	seen := make(map[Awaitable]struct{}, len(fs))
	out := make([]F, 0, len(fs))
	for _, f := range fs {
		if _, ok := seen[f]; ok {
			continue
		}
		seen[f] = struct{}{}
		out = append(out, f)
	}
	return out
}

// Wait blocks until the condition of mode holds for fs or ctx ends, and
// returns the futures that are done and those that are not, each once
// (duplicates in fs collapse), in the order of fs. Empty input returns at
// once. If ctx ends first, Wait returns the partition at that moment together
// with context.Cause(ctx): as in Python, the partition is valid either way.
// ctx must not be nil. Wait never changes the futures.
func Wait[F Awaitable](ctx context.Context, fs []F, mode WaitMode) (done, notDone []F, err error) {
	if ctx == nil {
		panic("future: nil Context")
	}
	fs = dedup(fs)
	partition := func() (d, nd []F) {
		for _, f := range fs {
			if f.Ready() {
				d = append(d, f)
			} else {
				nd = append(nd, f)
			}
		}
		return d, nd
	}
	satisfied := func(d []F, nd []F) bool {
		if len(nd) == 0 {
			return true
		}
		switch mode {
		case FirstCompleted:
			return len(d) > 0
		case FirstError:
			for _, f := range d {
				if f.failed() {
					return true
				}
			}
		}
		return false
	}
	if d, nd := partition(); satisfied(d, nd) {
		return d, nd, nil
	}
	w := newWaiter()
	var subscribed []F
	defer func() {
		for _, f := range subscribed {
			f.unsubscribe(w)
		}
	}()
	for _, f := range fs {
		if f.subscribe(w) {
			subscribed = append(subscribed, f)
		}
	}
	for {
		if d, nd := partition(); satisfied(d, nd) {
			return d, nd, nil
		}
		select {
		case <-w.signal:
			w.take()
		case <-ctx.Done():
			d, nd := partition()
			if satisfied(d, nd) {
				return d, nd, nil
			}
			return d, nd, context.Cause(ctx)
		}
	}
}

// UnfinishedError is the error AsCompleted yields when ctx ends before every
// future is done. It wraps the context's cause, so errors.Is(err,
// context.DeadlineExceeded) works.
type UnfinishedError struct {
	// Unfinished and Total count the futures (after removing duplicates).
	Unfinished, Total int
	// Cause is context.Cause of the ctx that ended.
	Cause error
}

// Error implements error, in Python's words.
func (e *UnfinishedError) Error() string {
	return fmt.Sprintf("future: %d (of %d) futures unfinished: %v", e.Unfinished, e.Total, e.Cause)
}

// Unwrap returns the context's cause.
func (e *UnfinishedError) Unwrap() error { return e.Cause }

// AsCompleted returns an iterator over fs that yields each future once as it
// completes: those already done first, in the order of fs, then the rest in
// completion order. Duplicates in fs collapse. If ctx ends before all are
// done, it yields (zero, *UnfinishedError) and stops. Breaking out of the loop
// unregisters everything; the iterator keeps no reference to futures it has
// yielded. The futures may have different types when F is Awaitable.
// Iterating blocks; ctx must not be nil.
func AsCompleted[F Awaitable](ctx context.Context, fs []F) iter.Seq2[F, error] {
	if ctx == nil {
		panic("future: nil Context")
	}
	return func(yield func(F, error) bool) {
		pending := make(map[Awaitable]F, len(fs))
		var first []F
		for _, f := range dedup(fs) {
			if f.Ready() {
				first = append(first, f)
			} else {
				pending[f] = f
			}
		}
		var zero F
		completions(ctx, pending, first, zero, yield)
	}
}

// completions yields, for AsCompleted and AsCompletedIndex, the key of each
// future as it completes: first those in first (already done), then those
// of pending as they complete. If ctx ends first, it yields those done by
// then and then (none, *UnfinishedError). It keeps no reference to a future
// it has yielded.
func completions[K any](ctx context.Context, pending map[Awaitable]K, first []K, none K, yield func(K, error) bool) {
	total := len(first) + len(pending)
	w := newWaiter()
	for a, k := range pending {
		if !a.subscribe(w) {
			// Done between the check and subscribing: deliver it now.
			delete(pending, a)
			first = append(first, k)
		}
	}
	defer func() {
		for a := range pending {
			a.unsubscribe(w)
		}
	}()
	for i, k := range first {
		first[i] = none // keep no reference to yielded futures
		if !yield(k, nil) {
			return
		}
	}
	for len(pending) > 0 {
		var batch []Awaitable
		select {
		case <-w.signal:
			batch = w.take()
		case <-ctx.Done():
			// Futures that completed by now still come out before the error.
			for a := range pending {
				if a.Ready() {
					batch = append(batch, a)
				}
			}
			if len(batch) == 0 {
				yield(none, &UnfinishedError{Unfinished: len(pending), Total: total, Cause: context.Cause(ctx)})
				return
			}
		}
		for i, a := range batch {
			batch[i] = nil // keep no reference to yielded futures
			k, ok := pending[a]
			if !ok {
				continue
			}
			delete(pending, a)
			if !yield(k, nil) {
				return
			}
		}
	}
}
