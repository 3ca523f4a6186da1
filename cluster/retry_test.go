package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/runlog"
	"github.com/gofutures/gofutures/process"
)

// crashFirst ends the worker process running it on its first execution.
func crashFirst(_ context.Context, path string) (int, error) {
	n, err := runlog.Append(path)
	if err == nil && n == 1 {
		os.Exit(3)
	}
	return n, err
}

var (
	// failTwice fails with a transient error (a timeout if the path ends
	// in "timeout") on its first two executions.
	failTwice = process.MustRegister(testReg, "failTwice", func(_ context.Context, path string) (int, error) {
		n, err := runlog.Append(path)
		if err == nil && n <= 2 {
			err = fmt.Errorf("attempt %d: %w", n, runlog.Temporary{IsTimeout: strings.HasSuffix(path, "timeout")})
		}
		return n, err
	})
	crashFirstIdem = process.MustRegister(testReg, "crashFirstIdempotent", crashFirst, process.Idempotent())
	crashFirstFn   = process.MustRegister(testReg, "crashFirst", crashFirst)
)

// A retry policy works on the cluster as on any executor: a function that
// fails twice with an error that says it is temporary (or a timeout), in a
// worker, runs three times (counted from its side effects) and succeeds.
func TestRetryTransient(t *testing.T) {
	ex := newTestExecutor(t)
	startWorker(t, ex.URL())
	ctx := waitCtx(t)
	retry := executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	for _, kind := range []string{"temporary", "timeout"} {
		t.Run(kind, func(t *testing.T) {
			f, err := executor.Call(ctx, ex, failTwice, filepath.Join(t.TempDir(), "once."+kind))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Result(ctx); !executor.Retryable(err) {
				t.Fatalf("without a policy: %v, want an error Retryable reports", err)
			}
			log := filepath.Join(t.TempDir(), "runs."+kind)
			f, err = executor.Call(ctx, ex, failTwice, log, retry)
			if err != nil {
				t.Fatal(err)
			}
			n, err := f.Result(ctx)
			if err != nil || n != 3 {
				t.Fatalf("with retry: %d, %v; want 3, nil", n, err)
			}
			if got := runlog.Runs(t, log); got != 3 {
				t.Fatalf("ran %d times, want 3", got)
			}
		})
	}
	// A permanent error is not retried.
	f, err := executor.Call(ctx, ex, fail, 1, retry)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	var re *executor.RetryError
	if !errors.Is(err, errBoom) || errors.As(err, &re) {
		t.Fatalf("permanent error: %v, want errBoom after one attempt", err)
	}
}

// A task whose worker died on every delivery (WithMaxAttempts of them)
// fails with a DeliveryError; a retry policy submits it again only if its
// function is registered as idempotent.
func TestRetryAfterDeliveryLimit(t *testing.T) {
	ex := newTestExecutor(t, WithAckWait(300*time.Millisecond), WithMaxAttempts(1))
	ctx := waitCtx(t)
	retry := executor.NewRetry(2, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	for _, tc := range []struct {
		name string
		fn   *process.Func[string, int]
		runs int
	}{{"idempotent", crashFirstIdem, 2}, {"not idempotent", crashFirstFn, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "runs")
			f, err := executor.Call(ctx, ex, tc.fn, log, retry)
			if err != nil {
				t.Fatal(err)
			}
			// Worker processes until the future is done: the first dies
			// with the task; the retry, if any, runs on the next.
			crashWorkersUntil(ctx, t, ex, f)
			n, err := f.Result(ctx)
			if tc.runs == 2 {
				if err != nil || n != 2 {
					t.Fatalf("%d, %v; want 2, nil", n, err)
				}
			} else {
				var de *DeliveryError
				var re *executor.RetryError
				if !errors.As(err, &de) || !errors.Is(err, executor.ErrWorkerDied) || errors.As(err, &re) {
					t.Fatalf("err %v, want a DeliveryError after one attempt, not retried", err)
				}
			}
			if got := runlog.Runs(t, log); got != tc.runs {
				t.Fatalf("ran %d times, want %d", got, tc.runs)
			}
		})
	}
}

// Stop during a backoff ends it at once: the task fails with a RetryError
// wrapping the refusal and the last error, instead of waiting an hour.
func TestRetryStopEndsBackoff(t *testing.T) {
	retried := make(chan struct{}, 1)
	ex := newTestExecutor(t, WithHooks(&executor.Hooks{Retried: func(time.Duration) { retried <- struct{}{} }}))
	startWorker(t, ex.URL())
	ctx := waitCtx(t)
	log := filepath.Join(t.TempDir(), "runs")
	f, err := executor.Call(ctx, ex, failTwice, log, executor.NewRetry(3, executor.RetryBackoff(time.Hour, time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-retried: // the first attempt failed: in the backoff now
	case <-ctx.Done():
		t.Fatal("no retry")
	}
	if err := ex.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	err = f.Err(ctx)
	var re *executor.RetryError
	if !errors.As(err, &re) || re.Attempts != 1 || !errors.Is(err, executor.ErrShutdown) || !executor.Retryable(re.Err) {
		t.Fatalf("err = %v, want a RetryError after 1 attempt wrapping ErrShutdown", err)
	}
	if got := runlog.Runs(t, log); got != 1 {
		t.Fatalf("ran %d times, want 1", got)
	}
}
