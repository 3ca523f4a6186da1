package pool

import (
	"fmt"
	"reflect"

	"github.com/gofutures/gofutures/executor"
)

// CallOption configures one call (Map, Imap, Apply, ...). Options that do not
// apply to a call are ignored by it.
type CallOption interface {
	applyCall(*callConfig)
}

type callConfig struct {
	chunk     int // 0: the call's default
	chunkSet  bool
	ahead     int // 0: default
	aheadSet  bool
	progress  func(done, total int)
	total     int // -1: unknown
	totalSet  bool
	onSuccess any // func(R) for the call's result type R
	onError   func(error)
	cancelErr bool // WithCancelOnError
	task      []executor.CallOption
}

type callFunc func(*callConfig)

func (f callFunc) applyCall(c *callConfig) { f(c) }

func newCallConfig(opts []CallOption) (callConfig, error) {
	var c callConfig
	for _, o := range opts {
		o.applyCall(&c)
	}
	if c.chunkSet && c.chunk < 1 {
		return c, fmt.Errorf("pool: chunk size must be >= 1, got %d", c.chunk)
	}
	if c.aheadSet && c.ahead < 1 {
		return c, fmt.Errorf("pool: WithChunksInFlight must be >= 1, got %d", c.ahead)
	}
	return c, nil
}

// WithChunkSize sets how many items go into one task (Python's chunksize):
// the executor runs a chunk as one task, and a process or cluster executor
// sends it as one message. n < 1 makes the call fail. Defaults: Map and
// Starmap use ceil(len(items) / (4 × workers)); Imap and ImapUnordered use 1.
func WithChunkSize(n int) CallOption {
	return callFunc(func(c *callConfig) { c.chunk, c.chunkSet = n, true })
}

// WithChunksInFlight bounds how many chunks a call keeps in flight, so that its
// memory does not grow with its input. For Imap and ImapUnordered: chunks
// scheduled and not yet delivered to the loop (the input is read only that
// far ahead, so an endless or huge input runs in bounded memory); default 2
// × workers, and at least 8. For Map, MapAsync, Starmap and StarmapAsync:
// chunks scheduled and not yet returned (the window; see Map); default 16 ×
// workers, which holds every chunk at the default chunk size. n < 1 makes
// the call fail.
func WithChunksInFlight(n int) CallOption {
	return callFunc(func(c *callConfig) { c.ahead, c.aheadSet = n, true })
}

// WithProgress makes the call report its progress, so that a caller can
// draw a progress bar: fn receives the number of items done (finished with a
// value or an error) and the total. Map, MapAsync, Starmap and ApplyAsync
// report as each chunk returns, in the goroutine that completed it; Imap and
// ImapUnordered report in the loop's goroutine as they deliver each chunk.
// The total is -1 while it is unknown (the lazy input of Imap and
// ImapUnordered, until the input ends, unless WithTotal gives it). Calls to
// fn are serialized and done only grows; the last call reports done == total,
// before the result is ready or the loop ends (unless the loop is left
// early). Keep fn quick. A panic in fn is recovered, reported
// (WithCallbackPanicHandler) and stops further reports.
func WithProgress(fn func(done, total int)) CallOption {
	return callFunc(func(c *callConfig) { c.progress = fn })
}

// WithTotal tells WithProgress the number of items of a lazy input, for a
// progress bar that knows its end.
func WithTotal(n int) CallOption {
	return callFunc(func(c *callConfig) { c.total, c.totalSet = n, true })
}

// WithCallback sets a function called with the result of a successful
// ApplyAsync (T = the result type R) or MapAsync and StarmapAsync (T = []R),
// before the result becomes ready (Python's callback). If T does not match,
// the call fails. Callbacks of one Pool run one at a time, in the goroutine
// that completed the work, so they need no lock between them; a callback must
// therefore not wait for another call of the same Pool that has a callback,
// nor call Terminate or Join.
// A panic in the callback is recovered and reported
// (see WithCallbackPanicHandler), and the result then fails with an error
// wrapping the *future.CallbackPanicError: nothing hangs.
func WithCallback[T any](fn func(T)) CallOption {
	return callFunc(func(c *callConfig) { c.onSuccess = fn })
}

// WithErrorCallback sets a function called with the error of a failed
// ApplyAsync, MapAsync or StarmapAsync (including ErrTerminated), before the
// result becomes ready (Python's error_callback). It runs as WithCallback's
// function does; if it panics, the result's error also wraps the
// *future.CallbackPanicError.
func WithErrorCallback(fn func(error)) CallOption {
	return callFunc(func(c *callConfig) { c.onError = fn })
}

// WithCancelOnError makes Map, MapAsync, Starmap, StarmapAsync, Imap,
// ImapFallible, ImapUnordered and ImapUnorderedFallible stop at the first item that fails,
// as errgroup.WithContext does, instead of running every item (the
// default, as in Python). The call's items run with a context derived from
// the call's ctx, which is cancelled as soon as an item fails (or, for ImapFallible
// and ImapUnorderedFallible, the input reports an error), with that item's
// *ItemError as its cause: items not started never run, and running items
// see ctx.Done(). The call then reports that first error, the first to
// happen rather than the one with the lowest index: Map and MapAsync once
// every chunk has returned (no work is left running), Imap as its last
// value, after which the loop ends. Items whose function ignores its ctx
// still finish; only their results are dropped. Apply and ApplyAsync, one
// item each, ignore it. It costs one derived context per call.
func WithCancelOnError() CallOption {
	return callFunc(func(c *callConfig) { c.cancelErr = true })
}

// WithTaskOptions gives every task of the call the executor's call
// options: a retry policy (*executor.Retry), a rate (executor.Rate), limits
// per key (*executor.KeyLimit). They act on each chunk, which is one task:
// a chunk's items that fail with a retryable error are retried together
// (the others keep their outcome), a rate paces chunks, and a KeyLimit keys
// a chunk by its first item, so give per-key calls WithChunkSize(1) (the
// default of Imap and ImapUnordered). A rate, and a key at its limit, make
// the goroutine that schedules the chunks wait (Map's caller; for MapAsync,
// its caller for the first window, then the goroutine it starts; Imap's
// loop while it reads ahead); a chunk waiting for its key holds no worker.
//
//	retry := executor.NewRetry(4)
//	hosts := executor.NewKeyLimit(hostOf, executor.KeyConcurrency(2))
//	for r, err := range pool.ImapUnorderedIndex(ctx, p, fetch, slices.Values(urls), pool.WithTaskOptions(retry, hosts)) { ... }
func WithTaskOptions(opts ...executor.CallOption) CallOption {
	return callFunc(func(c *callConfig) { c.task = append(c.task, opts...) })
}

// successCallback returns the WithCallback function for result type T, or an
// error if it was given for another type.
func successCallback[T any](c *callConfig) (func(T), error) {
	if c.onSuccess == nil {
		return nil, nil
	}
	fn, ok := c.onSuccess.(func(T))
	if !ok {
		return nil, fmt.Errorf("pool: WithCallback got a %T, this call needs a %v", c.onSuccess, reflect.TypeFor[func(T)]())
	}
	return fn, nil
}
