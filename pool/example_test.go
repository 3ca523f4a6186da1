package pool_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

func Example() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(4))
	if err != nil {
		panic(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		panic(err)
	}
	defer func() {
		p.Close()
		_ = p.Join(ctx) // waits for outstanding work, shuts ex down
	}()

	square := executor.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })
	squares, err := pool.Map(ctx, p, square, []int{1, 2, 3, 4, 5})
	fmt.Println(squares, err)
	// Output: [1 4 9 16 25] <nil>
}

func ExampleImap() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	inverse := executor.Fn(func(_ context.Context, x int) (float64, error) {
		if x == 0 {
			return 0, errors.New("division by zero")
		}
		return 1 / float64(x), nil
	})
	// Each failed item fails at its position; iteration goes on.
	for v, err := range pool.Imap(ctx, p, inverse, slices.Values([]int{4, 0, 2}), pool.WithChunkSize(2)) {
		fmt.Println(v, err)
	}
	// Output:
	// 0.25 <nil>
	// 0 pool: item 1: division by zero
	// 0.5 <nil>
}

func ExampleImapUnordered() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(3))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	double := executor.Fn(func(_ context.Context, s string) (string, error) { return s + s, nil })
	for v, err := range pool.ImapUnordered(ctx, p, double, slices.Values([]string{"a", "b", "c"})) {
		fmt.Println(v, err)
	}
	// Unordered output:
	// aa <nil>
	// bb <nil>
	// cc <nil>
}

func ExampleImap_break() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	naturals := func(yield func(int) bool) { // endless
		for i := 0; yield(i); i++ {
		}
	}
	square := executor.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })
	for v := range pool.Imap(ctx, p, square, naturals, pool.WithChunkSize(100)) {
		if v > 50 {
			break // stops reading naturals, cancels the queued chunks
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 0 1 4 9 16 25 36 49
}

func ExampleApplyAsync() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	greet := executor.Fn(func(_ context.Context, name string) (string, error) { return "hello " + name, nil })
	f, err := pool.ApplyAsync(ctx, p, greet, "gopher",
		pool.WithCallback(func(s string) { fmt.Println("callback:", s) }),
		pool.WithErrorCallback(func(err error) { fmt.Println("error:", err) }))
	if err != nil {
		panic(err)
	}
	v, err := f.Result(ctx) // AsyncResult.get; the callback has run
	fmt.Println(v, err, f.Ready())
	// Output:
	// callback: hello gopher
	// hello gopher <nil> true
}

func ExampleStarmap() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	pow := pool.Star2(func(_ context.Context, base, exp int) (int, error) {
		r := 1
		for range exp {
			r *= base
		}
		return r, nil
	})
	res, err := pool.Starmap(ctx, p, pow, []pool.Args2[int, int]{{2, 10}, {3, 3}, {10, 2}})
	fmt.Println(res, err)
	// Output: [1024 27 100] <nil>
}

func ExampleWithProgress() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	square := executor.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })
	var last [2]int
	_, err = pool.Map(ctx, p, square, make([]int, 1000), pool.WithChunkSize(100),
		pool.WithProgress(func(done, total int) { last = [2]int{done, total} })) // serialized
	fmt.Println(last, err)
	// Output: [1000 1000] <nil>
}

func ExamplePool_Terminate() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}

	started := make(chan struct{})
	wait := executor.Fn(func(ctx context.Context, _ int) (int, error) {
		close(started)
		<-ctx.Done() // Terminate stops the owned executor, which cancels this
		return 0, ctx.Err()
	})
	f, err := pool.ApplyAsync(ctx, p, wait, 0)
	if err != nil {
		log.Fatal(err)
	}
	<-started
	_ = p.Terminate(ctx)
	fmt.Println(errors.Is(f.Err(ctx), pool.ErrTerminated))
	_, err = pool.Apply(ctx, p, wait, 0)
	fmt.Println(err)
	fmt.Println(p.Join(ctx))
	// Output:
	// true
	// pool: not running (terminated)
	// <nil>
}

// WithCancelOnError stops a Map at the first failure, as errgroup does:
// the items not started never run, and running ones see their ctx end.
func ExampleWithCancelOnError() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	var ran atomic.Int64
	check := executor.Fn(func(ctx context.Context, x int) (int, error) {
		ran.Add(1)
		if x == 2 {
			return 0, fmt.Errorf("%d is bad", x)
		}
		return x, nil
	})
	_, err = pool.Map(ctx, p, check, []int{0, 1, 2, 3, 4, 5}, pool.WithChunkSize(1), pool.WithCancelOnError())
	fmt.Println(err)
	fmt.Println("items run:", ran.Load())
	// Output:
	// pool: item 2: 2 is bad
	// items run: 3
}

// The call's ctx reaches the items: here its deadline stops an item that
// would run for a minute.
func ExampleMap_deadline() {
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	slow := executor.Fn(func(ctx context.Context, x int) (int, error) {
		select {
		case <-time.After(time.Minute):
			return x, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	_, err = pool.Map(ctx, p, slow, []int{1, 2})
	fmt.Println(err)
	// Output: context deadline exceeded
}

// Each result comes with the index of its input, so a failure can say
// which URL it was without a map.
func ExampleImapUnorderedIndex() {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()

	urls := []string{"https://a.example/", "https://b.example/", "https://c.example/"}
	fetch := executor.Fn(func(_ context.Context, u string) (int, error) {
		if strings.HasPrefix(u, "https://b.") {
			return 503, errors.New("unavailable")
		}
		return 200, nil
	})
	retry := executor.NewRetry(2, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	for r, err := range pool.ImapUnorderedIndex(ctx, p, fetch, slices.Values(urls), pool.WithTaskOptions(retry)) {
		fmt.Println(urls[r.Index], r.Value, err != nil)
	}
	// Unordered output:
	// https://a.example/ 200 false
	// https://b.example/ 503 true
	// https://c.example/ 200 false
}
