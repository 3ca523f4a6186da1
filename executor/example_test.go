package executor_test

import (
	"context"
	"fmt"
	"slices"

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
