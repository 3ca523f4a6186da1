package process_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

// crashOnce appends a line to the file at path (one per execution), and
// kills its own helper on the first execution.
func crashOnce(_ context.Context, path string) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = f.WriteString("ran\n")
	f.Close()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := bytes.Count(b, []byte("\n"))
	if n == 1 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return n, nil
}

var (
	crashOnceIdemFn = process.MustRegister(reg, "crashOnceIdempotent", crashOnce, process.Idempotent())
	crashOnceFn     = process.MustRegister(reg, "crashOnce", crashOnce)
)

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

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
	if got := lines(t, log); got != 2 {
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
	if got := lines(t, log); got != 1 {
		t.Fatalf("not idempotent: ran %d times, want 1", got)
	}
}
