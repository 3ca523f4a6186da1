package driver_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
)

// inline is the smallest executor there is: each task runs on a goroutine
// of its own, with the ctx it was scheduled with.
type inline struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (e *inline) Schedule(ctx context.Context, t driver.Task) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return executor.ErrShutdown
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if t.Start() { // false: cancelled before it started
			_ = t.Run(ctx) // completes the task's future
		}
	}()
	return nil
}

func (e *inline) Shutdown(ctx context.Context, opts ...driver.ShutdownOption) error {
	_ = driver.ShutdownSettings(opts...) // nothing waits in a queue here
	return e.Stop(ctx)
}

func (e *inline) Stop(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (e *inline) Workers() int { return 1 << 20 }

// An executor written on this package works with everything built on
// executor.Executor: here executor.Call, and its refusal after Shutdown.
func Example() {
	ctx := context.Background()
	ex := &inline{}
	double := executor.Fn(func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	f, err := executor.Call(ctx, ex, double, 21)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Result(ctx))
	if err := ex.Shutdown(ctx, executor.CancelPending()); err != nil {
		fmt.Println(err)
	}
	_, err = executor.Call(ctx, ex, double, 1)
	fmt.Println(errors.Is(err, executor.ErrShutdown))
	// Output:
	// 42 <nil>
	// true
}
