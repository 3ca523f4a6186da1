package executor

import (
	"context"
	"errors"
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
	call      []CallOption // Retry, Rate, KeyLimit: given to every call
}

type mapOptionFunc func(*mapConfig)

func (f mapOptionFunc) applyMap(c *mapConfig) { f(c) }

// WithBufferSize bounds how many calls Map keeps scheduled but not yet
// consumed (Python 3.14's buffersize). Default 2 × ex.Workers(); n < 1 makes
// Map yield an error.
func WithBufferSize(n int) MapOption { return mapOptionFunc(func(c *mapConfig) { c.readAhead = n }) }

// Map calls fn on every item of in, on ex, and yields the results in input
// order. It is lazy: it reads in only as far as its buffer (WithBufferSize) allows, so
// an endless or huge input runs in bounded memory. An item's error is yielded
// at its position and iteration continues; stop it with break.
//
// The calls run with a context derived from ctx (see Submit), which Map
// cancels when the loop ends. So when the caller breaks out of the loop, or
// ctx ends (yielded as context.Cause(ctx)), every call that has not started
// is cancelled (it never runs), the one Map was waiting on included, the
// calls already running see their ctx done, and Map stops reading in. If ex
// refuses a call (shut down, overloaded), Map yields that error and stops.
// Iterating blocks; ctx must not be nil. Each iteration costs one derived
// context (context.WithCancelCause) besides the calls. The CallOptions
// (a *Retry, Rate, a *KeyLimit) are MapOptions too: they apply to every
// call.
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
			yield(zero, fmt.Errorf("executor: Map WithBufferSize must be >= 1, got %d", cfg.readAhead))
			return
		}
		// Cancelled last, after the calls not started: the running ones.
		callCtx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
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
				v, err = f.Result(ctx) // it finished meanwhile: its own outcome,
				if err != nil && (errors.Is(err, ctx.Err()) || errors.Is(err, context.Cause(ctx))) {
					// unless ctx ended it (removed from a queue, or it
					// returned ctx's error): one error for the whole Map.
					yield(zero, context.Cause(ctx))
					return false
				}
			}
			return yield(v, err)
		}
		for a := range in {
			if err := ctx.Err(); err != nil {
				yield(zero, context.Cause(ctx))
				return
			}
			f, err := Call(callCtx, ex, fn, a, cfg.call...)
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
