package process_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/runlog"
	"github.com/gofutures/gofutures/process"
)

// crashOnce records each execution (runlog), and kills its own helper on
// the first.
func crashOnce(_ context.Context, path string) (int, error) {
	n, err := runlog.Append(path)
	if err == nil && n == 1 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return n, err
}

var (
	crashOnceIdemFn = process.MustRegister(reg, "crashOnceIdempotent", crashOnce, process.Idempotent())
	crashOnceFn     = process.MustRegister(reg, "crashOnce", crashOnce)
)

// A helper killed under an idempotent function is retried, and the call
// succeeds; under a function not declared idempotent it is not retried.
func TestRetryAfterWorkerDied(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	retry := executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	if !crashOnceIdemFn.Idempotent() || crashOnceFn.Idempotent() {
		t.Fatal("Idempotent not recorded")
	}

	log := newLog(t)
	f, err := executor.Call(ctx, p, crashOnceIdemFn, log, retry)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.Result(ctx)
	if err != nil || n != 2 {
		t.Fatalf("idempotent: %v, %v; want 2, nil", n, err)
	}
	if got := runlog.Runs(t, log); got != 2 {
		t.Fatalf("idempotent: ran %d times, want 2", got)
	}

	log = newLog(t)
	f, err = executor.Call(ctx, p, crashOnceFn, log, retry)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	var re *executor.RetryError
	if !errors.Is(err, executor.ErrWorkerDied) || errors.As(err, &re) {
		t.Fatalf("not idempotent: err = %v, want the worker's death after one attempt", err)
	}
	if got := runlog.Runs(t, log); got != 1 {
		t.Fatalf("not idempotent: ran %d times, want 1", got)
	}
}

// failTwice records each execution (runlog) and fails with a transient
// error on the first two (a timeout if the path ends in "timeout"),
// wrapped, so that the flags are found in the chain.
func failTwice(_ context.Context, path string) (int, error) {
	n, err := runlog.Append(path)
	if err == nil && n <= 2 {
		err = fmt.Errorf("attempt %d: %w", n, runlog.Temporary{IsTimeout: strings.HasSuffix(path, "timeout")})
	}
	return n, err
}

var failTwiceFn = process.MustRegister(reg, "failTwice", failTwice)

// An error that says it is temporary or a timeout in the helper says so in
// the host too, so the default retry test retries it: the function ran
// three times (counted from its side effects) and the call succeeded.
func TestRetryRemoteTransient(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, kind := range []string{"temporary", "timeout"} {
		t.Run(kind, func(t *testing.T) {
			// Without a policy: one attempt, and the flags crossed over.
			f, err := executor.Call(ctx, p, failTwiceFn, newLog(t)+"."+kind)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Result(ctx)
			var re *process.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("err = %#v, want a *RemoteError", err)
			}
			if re.Temporary() != (kind == "temporary") || re.Timeout() != (kind == "timeout") {
				t.Fatalf("Temporary() = %v, Timeout() = %v for a %s error", re.Temporary(), re.Timeout(), kind)
			}
			if !executor.Retryable(err) {
				t.Fatalf("Retryable(%v) = false", err)
			}
			// With a policy: fails twice, succeeds on the third attempt.
			log := newLog(t) + "." + kind
			retry := executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond))
			f, err = executor.Call(ctx, p, failTwiceFn, log, retry)
			if err != nil {
				t.Fatal(err)
			}
			n, err := f.Result(ctx)
			if err != nil || n != 3 {
				t.Fatalf("with retry: %v, %v; want 3, nil", n, err)
			}
			if got := runlog.Runs(t, log); got != 3 {
				t.Fatalf("ran %d times, want 3", got)
			}
		})
	}
}

// A plain error is not retried by the default test: one execution.
func TestRetryRemotePermanent(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	retry := executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	f, err := executor.Call(ctx, p, failFn, 1, retry)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	var re *process.RemoteError
	if !errors.As(err, &re) || re.Temporary() || re.Timeout() {
		t.Fatalf("err = %v, want a plain *RemoteError", err)
	}
	var rerr *executor.RetryError
	if errors.As(err, &rerr) {
		t.Fatalf("a permanent error was retried: %v", err)
	}
}

// Shutdown during a backoff ends it at once: the task fails with a
// RetryError wrapping the refusal and the last error, instead of waiting
// an hour; the function ran once.
func TestRetryShutdownEndsBackoff(t *testing.T) {
	retried := make(chan struct{}, 1)
	p := newPool(t, process.WithWorkers(1), process.WithHooks(&executor.Hooks{Retried: func(time.Duration) { retried <- struct{}{} }}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := newLog(t)
	f, err := executor.Call(ctx, p, failTwiceFn, log, executor.NewRetry(3, executor.RetryBackoff(time.Hour, time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-retried: // the first attempt failed: in the backoff now
	case <-ctx.Done():
		t.Fatal("no retry")
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	err = f.Err(ctx)
	var re *executor.RetryError
	if !errors.As(err, &re) || re.Attempts != 1 || !errors.Is(err, executor.ErrShutdown) {
		t.Fatalf("err = %v, want a RetryError after 1 attempt wrapping ErrShutdown", err)
	}
	if got := runlog.Runs(t, log); got != 1 {
		t.Fatalf("ran %d times, want 1", got)
	}
}
