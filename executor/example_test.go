package executor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
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
	pool, err := executor.NewGoPool()
	if err != nil {
		log.Fatal(err)
	}
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
	f, err := executor.Submit(ctx, pool, slow)
	if err != nil {
		log.Fatal(err)
	}
	_, err = f.Result(context.Background())
	fmt.Println(err, errors.Is(err, context.DeadlineExceeded))

	detached, err := executor.Submit(context.WithoutCancel(ctx), pool, func(ctx context.Context) (bool, error) {
		_, ok := ctx.Deadline()
		return ok, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	ok, err := detached.Result(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a WithoutCancel task has a deadline:", ok)
	// Output:
	// the task has a deadline: true
	// context deadline exceeded true
	// a WithoutCancel task has a deadline: false
}

func ExampleMap() {
	ctx := context.Background()
	pool, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
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
	pool, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		log.Fatal(err)
	}
	var fs []*future.Future[int]
	for i := range 3 {
		f, err := executor.Submit(ctx, pool, func(context.Context) (int, error) { return i, nil })
		if err != nil {
			log.Fatal(err)
		}
		fs = append(fs, f)
	}
	// Graceful: waits for the three tasks; CancelPending would cancel the
	// ones not started.
	fmt.Println(pool.Shutdown(ctx))
	for _, f := range fs {
		fmt.Println(f.State())
	}
	_, err = executor.Submit(ctx, pool, func(context.Context) (int, error) { return 0, nil })
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
	pool, err := executor.NewGoPool()
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Shutdown(ctx)
	half := executor.Fn(func(_ context.Context, x int) (int, error) {
		if x%2 != 0 {
			return 0, fmt.Errorf("%d is odd", x)
		}
		return x / 2, nil
	})
	f, err := executor.CallChunk(ctx, pool, half, []int{2, 3, 4})
	if err != nil {
		log.Fatal(err)
	}
	c, err := f.Result(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for i := range c.Len() {
		fmt.Println(c.Values[i], c.Err(i))
	}
	// Output:
	// 1 <nil>
	// 0 3 is odd
	// 2 <nil>
}

// unavailable is an error that says it is temporary, as a 503 answer would.
type unavailable struct{}

func (unavailable) Error() string   { return "503 Service Unavailable" }
func (unavailable) Temporary() bool { return true }

// A function that fails twice with a temporary error succeeds on its third
// attempt; one that keeps failing ends with a *RetryError that says how
// many attempts ran and wraps the last error.
func ExampleNewRetry() {
	ctx := context.Background()
	pool, err := executor.NewGoPool()
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Shutdown(ctx)

	calls := 0
	flaky := executor.Fn(func(ctx context.Context, url string) (string, error) {
		calls++ // one attempt at a time: no lock needed
		if calls < 3 {
			return "", unavailable{}
		}
		return "page of " + url, nil
	})
	retry := executor.NewRetry(4, executor.RetryBackoff(time.Millisecond, 10*time.Millisecond))
	f, err := executor.Call(ctx, pool, flaky, "example.com", retry)
	if err != nil {
		log.Fatal(err)
	}
	v, err := f.Result(ctx)
	fmt.Println(v, err, calls)

	down := executor.Fn(func(ctx context.Context, url string) (string, error) { return "", unavailable{} })
	f, err = executor.Call(ctx, pool, down, "example.com", retry)
	if err != nil {
		log.Fatal(err)
	}
	_, err = f.Result(ctx)
	var re *executor.RetryError
	fmt.Println(errors.As(err, &re), re.Attempts, errors.Is(err, unavailable{}))
	// Output:
	// page of example.com <nil> 3
	// true 4 true
}

// At most one request in flight per host, on one pool: a.example's
// requests run one after another while b.example's run beside them.
func ExampleNewKeyLimit() {
	ctx := context.Background()
	pool, err := executor.NewGoPool(executor.WithWorkers(4))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Shutdown(ctx)

	host := func(u string) string { h, _, _ := strings.Cut(u, "/"); return h }
	perHost := executor.NewKeyLimit(host, executor.KeyConcurrency(1), executor.KeyRate(100, 1))
	fetch := executor.Fn(func(ctx context.Context, u string) (string, error) { return "got " + u, nil })
	var fs []*future.Future[string]
	for _, u := range []string{"a.example/1", "b.example/1", "a.example/2"} {
		f, err := executor.Call(ctx, pool, fetch, u, perHost)
		if err != nil {
			panic(err)
		}
		fs = append(fs, f)
	}
	pages, err := future.Gather(ctx, fs)
	fmt.Println(pages, err)
	// Output: [got a.example/1 got b.example/1 got a.example/2] <nil>
}
