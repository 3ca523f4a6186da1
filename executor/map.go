package executor

import (
	"context"
	"fmt"
	"iter"

	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/internal/ring"
)

// MapOption configures Map.
type MapOption interface {
	applyMap(*mapConfig)
}

type mapConfig struct {
	readAhead int
}

type mapOptionFunc func(*mapConfig)

func (f mapOptionFunc) applyMap(c *mapConfig) { f(c) }

// WithReadAhead bounds how many calls Map keeps scheduled but not yet
// consumed (Python 3.14's buffersize). Default 2 × ex.Workers(); n < 1 makes
// Map yield an error.
func WithReadAhead(n int) MapOption { return mapOptionFunc(func(c *mapConfig) { c.readAhead = n }) }

// Map calls fn on every item of in, on ex, and yields the results in input
// order. It is lazy: it reads in only as far as the read-ahead allows, so
// an endless or huge input runs in bounded memory. An item's error is yielded
// at its position and iteration continues; stop it with break. When the
// caller breaks out of the loop, or ctx ends (yielded as context.Cause(ctx)),
// Map cancels every call that has not started, the one it was waiting on
// included, and stops reading in; calls already running go on. If ex
// refuses a call (shut down, overloaded), Map yields that error and stops.
// Iterating blocks; ctx must not be nil.
func Map[A, R any](ctx context.Context, ex Executor, fn Func[A, R], in iter.Seq[A], opts ...MapOption) iter.Seq2[R, error] {
	if ctx == nil {
		panic("executor: nil Context")
	}
	cfg := mapConfig{readAhead: 2 * ex.Workers()}
	for _, o := range opts {
		o.applyMap(&cfg)
	}
	return func(yield func(R, error) bool) {
		var zero R
		if cfg.readAhead < 1 {
			yield(zero, fmt.Errorf("executor: Map read-ahead must be >= 1, got %d", cfg.readAhead))
			return
		}
		var window ring.Ring[*future.Future[R]]
		defer func() {
			for f, ok := window.Pop(); ok; f, ok = window.Pop() {
				f.Cancel()
			}
		}()
		// emit waits for the oldest call and yields it; false stops Map. If
		// ctx ends first, the call is cancelled unless it has started (the
		// deferred loop cancels the rest), and Map yields ctx's cause.
		emit := func() bool {
			f, _ := window.Pop()
			v, err := f.Result(ctx)
			if err != nil && ctx.Err() != nil {
				if f.Cancel() || !f.Ready() {
					yield(zero, context.Cause(ctx))
					return false
				}
				v, err = f.Result(ctx) // it finished meanwhile: its own outcome
			}
			return yield(v, err)
		}
		for a := range in {
			if err := ctx.Err(); err != nil {
				yield(zero, context.Cause(ctx))
				return
			}
			f, err := Call(ctx, ex, fn, a)
			if err != nil {
				yield(zero, err)
				return
			}
			window.Push(f)
			if window.Len() >= cfg.readAhead && !emit() {
				return
			}
		}
		for window.Len() > 0 {
			if !emit() {
				return
			}
		}
	}
}
