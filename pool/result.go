package pool

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/gofutures/gofutures/future"
)

// result completes the future of an async call once, running the call's
// callbacks first (Python runs them before the result is ready).
type result[T any] struct {
	p       *Pool
	promise future.Promise[T]
	onOK    func(T)
	onErr   func(error)
	claimed atomic.Bool
}

// finish completes the future with (v, err) unless it was completed already,
// and reports whether it did. A callback that panics makes the result fail
// with an error wrapping the *future.CallbackPanicError.
func (r *result[T]) finish(v T, err error) bool {
	if !r.claimed.CompareAndSwap(false, true) {
		return false
	}
	r.complete(v, err)
	return true
}

// complete runs the callbacks and completes the future; the caller has
// claimed it (set claimed).
func (r *result[T]) complete(v T, err error) {
	if err == nil && r.onOK != nil {
		if perr := r.p.runCallback(func() { r.onOK(v) }); perr != nil {
			err = fmt.Errorf("pool: callback: %w", perr)
		}
	} else if err != nil && r.onErr != nil {
		if perr := r.p.runCallback(func() { r.onErr(err) }); perr != nil {
			err = errors.Join(err, fmt.Errorf("pool: error callback: %w", perr))
		}
	}
	_ = r.promise.Set(v, err) // fails only if the caller cancelled the future
}
