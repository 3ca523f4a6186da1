package executor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

func ExampleSubmit() {
	ctx := context.Background()
	pool, err := executor.NewGoPool(executor.WithWorkers(4))
	if err != nil {
		panic(err)
	}
	defer pool.Shutdown(ctx)

	f, err := executor.Submit(ctx, pool, func(ctx context.Context) (string, error) {
		return "hello from a worker", nil
	})
	if err != nil {
		panic(err) // shut down, broken or overloaded
	}
	v, err := f.Result(ctx)
	fmt.Println(v, err)
	// Output: hello from a worker <nil>
}

// The ctx given to Submit is the task's: its deadline reaches the task,
// which stops when it passes. Work that must outlive the caller's ctx is
// submitted with context.WithoutCancel(ctx).
func ExampleSubmit_deadline() {
	pool, _ := executor.NewGoPool()
	defer pool.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	slow := func(ctx context.Context) (string, error) {
		_, ok := ctx.Deadline()
		fmt.Println("the task has a deadline:", ok)
		select {
		case <-time.After(time.Minute): // the real work
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f, _ := executor.Submit(ctx, pool, slow)
	_, err := f.Result(context.Background())
	fmt.Println(err, errors.Is(err, context.DeadlineExceeded))

	detached, _ := executor.Submit(context.WithoutCancel(ctx), pool, func(ctx context.Context) (bool, error) {
		_, ok := ctx.Deadline()
		return ok, nil
	})
	ok, _ := detached.Result(context.Background())
	fmt.Println("a WithoutCancel task has a deadline:", ok)
	// Output:
	// the task has a deadline: true
	// context deadline exceeded true
	// a WithoutCancel task has a deadline: false
}

func ExampleMap() {
	ctx := context.Background()
	pool, _ := executor.NewGoPool(executor.WithWorkers(2))
	defer pool.Shutdown(ctx)

	square := executor.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })
	for v, err := range executor.Map(ctx, pool, square, slices.Values([]int{1, 2, 3, 4})) {
		fmt.Println(v, err)
	}
	// Output:
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
	// 16 <nil>
}

func ExampleGoPool_Shutdown() {
	ctx := context.Background()
	pool, _ := executor.NewGoPool(executor.WithWorkers(1))
	var fs []*future.Future[int]
	for i := range 3 {
		f, _ := executor.Submit(ctx, pool, func(context.Context) (int, error) { return i, nil })
		fs = append(fs, f)
	}
	// Graceful: waits for the three tasks; CancelPending would cancel the
	// ones not started.
	fmt.Println(pool.Shutdown(ctx))
	for _, f := range fs {
		fmt.Println(f.State())
	}
	_, err := executor.Submit(ctx, pool, func(context.Context) (int, error) { return 0, nil })
	fmt.Println(err)
	// Output:
	// <nil>
	// FINISHED
	// FINISHED
	// FINISHED
	// executor: shut down
}

func ExampleCallChunk() {
	ctx := context.Background()
	pool, _ := executor.NewGoPool()
	defer pool.Shutdown(ctx)
	half := executor.Fn(func(_ context.Context, x int) (int, error) {
		if x%2 != 0 {
			return 0, fmt.Errorf("%d is odd", x)
		}
		return x / 2, nil
	})
	f, _ := executor.CallChunk(ctx, pool, half, []int{2, 3, 4})
	c, _ := f.Result(ctx)
	for i := range c.Len() {
		fmt.Println(c.Values[i], c.Err(i))
	}
	// Output:
	// 1 <nil>
	// 0 3 is odd
	// 2 <nil>
}
