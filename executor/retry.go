package executor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry is a retry policy: how many attempts a task gets, how long to wait
// between them, and which errors are worth another attempt. It is a
// CallOption: pass it to Submit, Call, CallChunk or Map (and to package
// pool's calls with pool.WithTaskOptions), on any executor:
//
//	retry := executor.NewRetry(4, executor.RetryBackoff(100*time.Millisecond, 5*time.Second))
//	f, err := executor.Call(ctx, ex, fetch, url, retry)
//
// A failed attempt that may be retried is scheduled again on the same
// executor after a backoff: first, then twice as long each time up to max,
// each wait drawn at random from its upper half (so that many tasks failing
// together do not come back together). An error that has a RetryAfter()
// time.Duration method with a positive result (a 429 or 503 answer's
// Retry-After header) sets the wait instead. Hooks see each attempt as a
// task (Submitted, Started, Finished) and each retry (Retried).
//
// An attempt is retried when its error is retryable (RetryIf; by default
// Retryable: errors that say they are temporary or that they timed out),
// attempts are left, and the call's ctx has not ended. The ctx ending during
// a backoff ends it at once: the future fails with a *RetryError whose Cause
// is context.Cause(ctx). So does the executor's Shutdown or Stop (GoPool,
// process.Executor and cluster.Executor say so through their Closing method):
// the next attempt is refused, and the Cause is the refusal (ErrShutdown).
// Nothing is retried behind the caller's back after
// it may have had side effects: an attempt whose worker died
// (ErrWorkerDied: a helper process killed, a cluster task whose deliveries
// ran out) is retried only if the function is declared idempotent
// (process.Idempotent at registration: its Idempotent method returns true).
//
// The future of a task that was retried ends with a *RetryError, which says
// how many attempts were made and wraps the last attempt's error (errors.Is
// and errors.As see through it); a task that succeeded or failed on its
// first attempt ends as without the policy. During a backoff the future
// stays running: Future.Cancel does not stop it, the ctx does. For a chunk,
// the items that failed with a retryable error are retried, together, and
// the others keep their outcome; an attempt that fails as a whole is retried
// whole.
//
// A Retry is immutable and safe for concurrent use; make it once and share
// it. With a policy, a task costs no allocation more (the state of its call
// options, 150 to 180 bytes, is allocated with the task), and each retry a
// timer, a goroutine that waits for the backoff's end, and a few
// allocations.
type Retry struct {
	attempts   int
	first, max time.Duration
	retryIf    func(error) bool
}

// RetryOption configures a Retry.
type RetryOption interface {
	applyRetry(*Retry)
}

type retryFunc func(*Retry)

func (f retryFunc) applyRetry(r *Retry) { f(r) }

// NewRetry returns a policy of at most attempts attempts per task (the
// first included: 3 means up to two retries). attempts < 1 makes the calls
// that use it fail. It does not block.
func NewRetry(attempts int, opts ...RetryOption) *Retry {
	r := &Retry{attempts: attempts, first: 100 * time.Millisecond, max: 10 * time.Second}
	for _, o := range opts {
		o.applyRetry(r)
	}
	return r
}

// RetryBackoff sets the wait before the first retry and the cap of the
// waits, which double in between. Default 100ms and 10s. first <= 0 or
// max < first makes the calls that use the policy fail.
func RetryBackoff(first, max time.Duration) RetryOption {
	return retryFunc(func(r *Retry) { r.first, r.max = first, max })
}

// RetryIf sets which errors are retried, in place of Retryable (call it
// from fn to extend the default). An attempt whose worker died is retried
// only for idempotent functions, whatever fn says.
func RetryIf(fn func(err error) bool) RetryOption {
	return retryFunc(func(r *Retry) { r.retryIf = fn })
}

func (r *Retry) applyCall(c *callConfig) { c.retry = r }
func (r *Retry) applyMap(c *mapConfig)   { c.call = append(c.call, r) }

func (r *Retry) validate() error {
	switch {
	case r.attempts < 1:
		return fmt.Errorf("executor: retry attempts must be >= 1, got %d", r.attempts)
	case r.first <= 0 || r.max < r.first:
		return fmt.Errorf("executor: retry backoff must have 0 < first <= max, got %v and %v", r.first, r.max)
	}
	return nil
}

// Attempts returns the most attempts a task gets.
func (r *Retry) Attempts() int { return r.attempts }

func (r *Retry) retryable(err error, idempotent bool) bool {
	if errors.Is(err, ErrWorkerDied) && !idempotent {
		return false
	}
	if r.retryIf != nil {
		return r.retryIf(err)
	}
	return Retryable(err) || errors.Is(err, ErrWorkerDied)
}

// delay is the wait after attempt n (from 1) failed with err.
func (r *Retry) delay(n int, err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			return d
		}
	}
	d := r.first
	for i := 1; i < n && d < r.max; i++ {
		d *= 2
	}
	d = min(d, r.max)
	return d/2 + rand.N(d/2+1)
}

// Retryable is the default test of Retry: it reports whether err says it is
// temporary or a timeout (a Temporary() bool or Timeout() bool method that
// returns true, anywhere in its chain, as net.Error and
// context.DeadlineExceeded have), and is not a panic, a cancellation or an
// executor that stopped, shut down or broke. A dead worker is not retryable
// by this test: Retry allows it for idempotent functions.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *PanicError
	switch {
	case errors.As(err, &pe), errors.Is(err, context.Canceled), isCancelled(err),
		errors.Is(err, ErrStopped), errors.Is(err, ErrShutdown), errors.Is(err, ErrBroken),
		errors.Is(err, ErrNotRemote), errors.Is(err, ErrWorkerDied):
		return false
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

// RetryError is the error of a task that was retried under a Retry policy
// and did not succeed: after its last attempt failed (with an error that is
// not retryable, or with none left), or because the retries stopped (its ctx
// ended during a backoff, or the executor refused the next attempt). It
// wraps both the last attempt's error and the cause of the stop.
type RetryError struct {
	// Attempts is how many attempts ran.
	Attempts int
	// Err is the last attempt's error.
	Err error
	// Cause, if not nil, is why the retries stopped before the policy did:
	// context.Cause of the call's ctx, or the executor's error.
	Cause error
}

// Error implements error.
func (e *RetryError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("executor: retries stopped after %d attempts (%v): %v", e.Attempts, e.Cause, e.Err)
	}
	return fmt.Sprintf("executor: failed after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the cause of the stop, if any, and the last error.
func (e *RetryError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Cause, e.Err}
	}
	return []error{e.Err}
}
