package future

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// GatherOption configures Gather.
type GatherOption interface {
	applyGather(*gatherConfig)
}

type gatherConfig struct {
	all bool
}

type gatherFunc func(*gatherConfig)

func (f gatherFunc) applyGather(c *gatherConfig) { f(c) }

// AllErrors makes Gather wait for every future and report every failure,
// each at its index in GatherError.Errs, instead of returning at the first
// failure (asyncio.gather's return_exceptions=True, with the errors kept
// apart from the values).
func AllErrors() GatherOption { return gatherFunc(func(c *gatherConfig) { c.all = true }) }

// GatherError is the error of Gather and FirstSuccess when futures failed.
// It unwraps to every error it holds, so errors.Is and errors.As look at all
// of them.
type GatherError struct {
	// Index and Err are the failure that decided: for Gather, the first
	// future to fail; with AllErrors, and for FirstSuccess, the failed future
	// with the lowest index. A cancelled future failed with ErrCancelled.
	Index int
	Err   error
	// Errs holds, with AllErrors and for FirstSuccess, one error per future
	// of the input, nil for those that succeeded; without AllErrors, nil.
	Errs []error
}

// Error implements error.
func (e *GatherError) Error() string {
	n := 0
	for _, err := range e.Errs {
		if err != nil {
			n++
		}
	}
	if n > 1 {
		return fmt.Sprintf("future %d: %v (and %d more failed)", e.Index, e.Err, n-1)
	}
	return fmt.Sprintf("future %d: %v", e.Index, e.Err)
}

// Unwrap returns the errors held: Err, or every non-nil error of Errs.
func (e *GatherError) Unwrap() []error {
	if e.Errs == nil {
		return []error{e.Err}
	}
	out := make([]error, 0, len(e.Errs))
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Gather waits for fs and returns their values in the order of fs
// (asyncio.gather), so that collecting a slice of futures takes no loop.
//
// By default it returns as soon as a future fails (or is cancelled): nil and
// a *GatherError with that future's index and error; the other futures are
// left as they are (cancel the ctx their work was submitted with to stop
// it). With AllErrors it waits for every future and returns every value (the
// zero value, or what the task returned with its error, where one failed)
// and, if any failed, a *GatherError whose Errs has one error per future.
// A future that appears twice in fs has its value at both positions.
//
// If ctx ends first, Gather returns nil and a *UnfinishedError wrapping
// context.Cause(ctx); the futures are unchanged. Empty input returns an
// empty slice at once. Gather blocks; ctx must not be nil. It costs the
// result slice and one registration per pending future, as AsCompleted.
func Gather[T any](ctx context.Context, fs []*Future[T], opts ...GatherOption) ([]T, error) {
	var cfg gatherConfig
	for _, o := range opts {
		o.applyGather(&cfg)
	}
	for i, err := range AsCompletedIndex(ctx, fs) {
		if err != nil {
			return nil, err
		}
		if !cfg.all {
			if err := fs[i].err; err != nil { // done: err is final
				return nil, &GatherError{Index: i, Err: err}
			}
		}
	}
	vals := make([]T, len(fs))
	var ge *GatherError
	for i, f := range fs {
		vals[i] = f.value
		if f.err == nil {
			continue
		}
		if ge == nil {
			ge = &GatherError{Index: i, Err: f.err, Errs: make([]error, len(fs))}
		}
		ge.Errs[i] = f.err
	}
	if ge != nil {
		return vals, ge
	}
	return vals, nil
}

// FirstSuccess waits for the first of fs to succeed and returns its value;
// then it cancels the others that have not started (Future.Cancel). It is
// the waiting half of a hedged request: submit the same call two or three
// times, a little apart, with one ctx, take the first answer, and cancel
// that ctx so that the losers still running see ctx.Done():
//
//	ctx, cancel := context.WithCancel(ctx)
//	defer cancel() // the losers stop
//	v, err := future.FirstSuccess(ctx, fs)
//
// If every future fails, FirstSuccess returns a *GatherError whose Errs
// holds each one's error. If ctx ends first, it cancels the pending ones too
// and returns a *UnfinishedError wrapping context.Cause(ctx). Empty input is
// an error. FirstSuccess blocks; ctx must not be nil.
func FirstSuccess[T any](ctx context.Context, fs []*Future[T]) (T, error) {
	var zero T
	if len(fs) == 0 {
		return zero, errors.New("future: FirstSuccess of no futures")
	}
	defer func() {
		for _, f := range fs {
			f.Cancel()
		}
	}()
	for i, err := range AsCompletedIndex(ctx, fs) {
		if err != nil {
			return zero, err
		}
		if fs[i].err == nil {
			return fs[i].value, nil
		}
	}
	ge := &GatherError{Errs: make([]error, len(fs))}
	for i, f := range fs {
		ge.Errs[i] = f.err
	}
	ge.Index, ge.Err = 0, fs[0].err
	return zero, ge
}

// AsCompletedIndex is AsCompleted that yields the index in fs of each future
// as it completes, instead of the future, so that a result can be matched to
// the input it came from without a map: fs[i] is the future, and the input
// slice that fs was made from has the same index. A future that appears more
// than once is yielded once, with its first index. If ctx ends before all
// are done, it yields (-1, *UnfinishedError) and stops. Iterating blocks;
// ctx must not be nil.
func AsCompletedIndex[F Awaitable](ctx context.Context, fs []F) iter.Seq2[int, error] {
	if ctx == nil {
		panic("future: nil Context")
	}
	return func(yield func(int, error) bool) {
		pending := make(map[Awaitable]int, len(fs))
		var first []int
		seen := make(map[Awaitable]struct{}, len(fs))
		for i, f := range fs {
			if _, ok := seen[f]; ok {
				continue
			}
			seen[f] = struct{}{}
			if f.Ready() {
				first = append(first, i)
			} else {
				pending[f] = i
			}
		}
		completions(ctx, pending, first, -1, yield)
	}
}
