package future_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofutures/gofutures/future"
)

func ExampleNew() {
	f, p := future.New[string]()
	go func() {
		if ok, _ := p.SetRunning(); ok { // false if cancelled meanwhile
			p.SetResult("hello")
		}
	}()
	v, err := f.Result(context.Background())
	fmt.Println(v, err)
	// Output: hello <nil>
}

func ExampleFuture_AddDoneCallback() {
	f, p := future.New[int]()
	f.AddDoneCallback(func(f *future.Future[int]) {
		v, _ := f.Result(context.Background()) // done: does not block
		fmt.Println("done with", v)
	})
	p.SetResult(42)
	// Output: done with 42
}

func ExampleFuture_Cancel() {
	f, p := future.New[int]()
	fmt.Println(f.Cancel(), f.State())
	ok, _ := p.SetRunning() // the executor learns the work must be skipped
	fmt.Println(ok, errors.Is(f.Err(context.Background()), future.ErrCancelled))
	// Output:
	// true CANCELLED
	// false true
}

func ExampleWait() {
	slow, _ := future.New[int]()
	fast := future.Completed("ready")
	// Futures of different types wait together as Awaitables.
	done, notDone, err := future.Wait(context.Background(), []future.Awaitable{slow, fast}, future.FirstCompleted)
	fmt.Println(len(done), len(notDone), err)
	// Output: 1 1 <nil>
}

func ExampleAsCompleted() {
	fs := make([]*future.Future[int], 3)
	ps := make([]future.Promise[int], 3)
	for i := range fs {
		fs[i], ps[i] = future.New[int]()
	}
	go func() {
		for i := range ps {
			ps[i].SetResult(i * i)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for f, err := range future.AsCompleted(ctx, fs) {
		if err != nil {
			fmt.Println(err)
			break
		}
		v, _ := f.Result(ctx)
		fmt.Println(v)
	}
	// Unordered output:
	// 0
	// 1
	// 4
}

func ExampleGather() {
	ctx := context.Background()
	fs := make([]*future.Future[int], 3)
	for i := range fs {
		fs[i] = future.Completed(i * i)
	}
	squares, err := future.Gather(ctx, fs)
	fmt.Println(squares, err)
	// Output: [0 1 4] <nil>
}

func ExampleFirstSuccess() {
	ctx := context.Background()
	slow, _ := future.New[string]() // still pending: cancelled once another wins
	fs := []*future.Future[string]{future.Failed[string](errors.New("replica 1 down")), future.Completed("replica 2"), slow}
	v, err := future.FirstSuccess(ctx, fs)
	fmt.Println(v, err, slow.Cancelled())
	// Output: replica 2 <nil> true
}

func ExampleAsCompletedIndex() {
	ctx := context.Background()
	urls := []string{"a.example", "b.example"}
	fs := []*future.Future[int]{future.Completed(200), future.Failed[int](errors.New("503"))}
	for i, err := range future.AsCompletedIndex(ctx, fs) {
		if err != nil {
			break // ctx ended
		}
		status, err := fs[i].Result(ctx)
		fmt.Println(urls[i], status, err)
	}
	// Output:
	// a.example 200 <nil>
	// b.example 0 503
}
