package pool_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/pool"
)

func TestApply(t *testing.T) {
	p := newPool(t, 2)
	ctx := context.Background()
	v, err := pool.Apply(ctx, p, square, 7)
	if err != nil || v != 49 {
		t.Fatalf("Apply = %v, %v", v, err)
	}
	boom := errors.New("boom")
	fail := executor.Fn(func(context.Context, int) (int, error) { return 0, boom })
	if _, err := pool.Apply(ctx, p, fail, 1); !errors.Is(err, boom) {
		t.Errorf("Apply error = %v, want boom", err)
	}
}

func TestApplyAsyncCallbacks(t *testing.T) {
	p := newPool(t, 2)
	ctx := context.Background()
	release := make(chan struct{})
	slow := executor.Fn(func(_ context.Context, x int) (int, error) {
		<-release
		return x + 1, nil
	})
	var got atomic.Int64
	f, err := pool.ApplyAsync(ctx, p, slow, 41, pool.WithCallback(func(v int) { got.Store(int64(v)) }))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Successful(); ok || !errors.Is(err, future.ErrNotReady) {
		t.Errorf("Successful before ready = %v, %v; want ErrNotReady", ok, err)
	}
	if f.Ready() {
		t.Error("ready before the work ran")
	}
	close(release)
	<-f.Done() // AsyncResult.wait
	if got.Load() != 42 {
		t.Errorf("callback got %d before ready, want 42", got.Load())
	}
	if ok, err := f.Successful(); !ok || err != nil {
		t.Errorf("Successful = %v, %v", ok, err)
	}

	boom := errors.New("boom")
	fail := executor.Fn(func(context.Context, int) (int, error) { return 0, boom })
	var cbErr atomic.Value
	f, err = pool.ApplyAsync(ctx, p, fail, 1,
		pool.WithCallback(func(int) { t.Error("success callback on failure") }),
		pool.WithErrorCallback(func(err error) { cbErr.Store(err) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Err(ctx); !errors.Is(err, boom) {
		t.Errorf("Err = %v", err)
	}
	if e, _ := cbErr.Load().(error); !errors.Is(e, boom) {
		t.Errorf("error callback got %v", e)
	}
	if _, err := pool.ApplyAsync(ctx, p, square, 1, pool.WithCallback(func(string) {})); err == nil {
		t.Error("WithCallback of the wrong type: no error")
	}
}

// Python hangs when a callback raises; here the result fails with the panic
// and the pool goes on.
func TestApplyAsyncCallbackPanic(t *testing.T) {
	p := newPool(t, 2, pool.WithCallbackPanicHandler(func(*future.CallbackPanicError) {}))
	ctx := context.Background()
	for range 3 {
		f, err := pool.ApplyAsync(ctx, p, square, 3, pool.WithCallback(func(int) { panic("cb") }))
		if err != nil {
			t.Fatal(err)
		}
		var pe *future.CallbackPanicError
		if _, err := f.Result(ctx); !errors.As(err, &pe) {
			t.Fatalf("Result error = %v, want a CallbackPanicError", err)
		}
	}
	if v, err := pool.Apply(ctx, p, square, 3); v != 9 || err != nil {
		t.Errorf("Apply after callback panics = %v, %v", v, err)
	}
}

func TestApplyAsyncContext(t *testing.T) {
	p := newPool(t, 1)
	g := newGate()
	block, started, release := g.fn, g.started, g.release
	var ran atomic.Bool
	mark := executor.Fn(func(_ context.Context, x int) (int, error) { ran.Store(true); return x, nil })
	first, err := pool.ApplyAsync(context.Background(), p, block, 1)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	second, err := pool.ApplyAsync(ctx, p, mark, 2)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := second.Err(context.Background()); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	close(release)
	if v, err := first.Result(context.Background()); v != 1 || err != nil {
		t.Errorf("first = %v, %v", v, err)
	}
	p.Close()
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Error("the cancelled call ran")
	}
}
