package executor_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// benchBatch is the number of tasks one benchmark operation submits and waits for.
const benchBatch = 1000

func benchPool(b *testing.B, workers int) *executor.GoPool {
	b.Helper()
	p, err := executor.NewGoPool(executor.WithWorkers(workers))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return p
}

// reportPerTask adds ns/task next to ns/op (an op is benchBatch tasks).
func reportPerTask(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
}

var benchInc = executor.Fn(func(_ context.Context, x int) (int, error) { return x + 1, nil })

// BenchmarkSubmitWait submits benchBatch trivial tasks and then waits for
// every future's Result, per operation: Submit with a closure that captures
// its argument (2 allocations per task: closure, and the future and task
// together), and Call with executor.Fn, which passes the argument and needs
// no closure (1 allocation). Each runs with context.Background() ("bg": the
// tasks run with the pool's own context) and with one cancellable context
// for the whole batch ("cancel": the tasks share one context derived from
// it), whose difference is the cost of passing the caller's ctx on.
func BenchmarkSubmitWait(b *testing.B) {
	submit := func(ctx context.Context, p executor.Executor, i int) (*future.Future[int], error) {
		return executor.Submit(ctx, p, func(context.Context) (int, error) { return i + 1, nil })
	}
	call := func(ctx context.Context, p executor.Executor, i int) (*future.Future[int], error) {
		return executor.Call(ctx, p, benchInc, i)
	}
	never := executor.NewRetry(3, executor.RetryIf(func(error) bool { return false }))
	callRetry := func(ctx context.Context, p executor.Executor, i int) (*future.Future[int], error) {
		return executor.Call(ctx, p, benchInc, i, never)
	}
	for _, workers := range []int{runtime.NumCPU(), 10_000} {
		// A retry policy that never retries costs one allocation per task.
		b.Run("CallRetry/ctx=bg/workers="+strconv.Itoa(workers), func(b *testing.B) { benchSubmitWait(b, workers, false, callRetry) })
		for _, cancellable := range []bool{false, true} {
			ctxName := "bg"
			if cancellable {
				ctxName = "cancel"
			}
			suffix := "/ctx=" + ctxName + "/workers=" + strconv.Itoa(workers)
			b.Run("Submit"+suffix, func(b *testing.B) { benchSubmitWait(b, workers, cancellable, submit) })
			b.Run("Call"+suffix, func(b *testing.B) { benchSubmitWait(b, workers, cancellable, call) })
		}
	}
}

// benchSubmitWait submits benchBatch tasks with submit, then waits for each.
// It submits with context.Background() or, if cancellable, a
// context.WithCancel made before the timed loop, and always waits with
// context.Background() (waiting with a ctx that can end costs a channel per
// future not yet done: the waiter's cost, not the pool's).
func benchSubmitWait(b *testing.B, workers int, cancellable bool, submit func(context.Context, executor.Executor, int) (*future.Future[int], error)) {
	p := benchPool(b, workers)
	bg := context.Background()
	ctx := bg
	if cancellable {
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		ctx = c
	}
	futs := make([]*future.Future[int], benchBatch)
	b.ReportAllocs()
	for b.Loop() {
		for i := range futs {
			f, err := submit(ctx, p, i)
			if err != nil {
				b.Fatal(err)
			}
			futs[i] = f
		}
		for i, f := range futs {
			if v, err := f.Result(bg); err != nil || v != i+1 {
				b.Fatalf("task %d: (%d, %v)", i, v, err)
			}
		}
	}
	reportPerTask(b)
}

var benchSink *future.Future[int]

// BenchmarkFutureNew measures a future's own life without an executor:
// creating it, completing it, and completing it with a done-callback and a
// waiter that blocks in Result.
func BenchmarkFutureNew(b *testing.B) {
	b.Run("New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, _ := future.New[int]()
			benchSink = f
		}
	})
	b.Run("New+SetResult+Result", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			f, p := future.New[int]()
			if err := p.SetResult(1); err != nil {
				b.Fatal(err)
			}
			if v, err := f.Result(ctx); err != nil || v != 1 {
				b.Fatalf("(%d, %v)", v, err)
			}
		}
	})
	b.Run("New+AddDoneCallback+SetResult", func(b *testing.B) {
		calls := 0
		cb := func(*future.Future[int]) { calls++ }
		b.ReportAllocs()
		for b.Loop() {
			f, p := future.New[int]()
			f.AddDoneCallback(cb)
			if err := p.SetResult(1); err != nil {
				b.Fatal(err)
			}
		}
		if calls != b.N {
			b.Fatalf("callback ran %d times, want %d", calls, b.N)
		}
	})
	b.Run("New+Done+SetResult", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, p := future.New[int]()
			done := f.Done()
			if err := p.SetResult(1); err != nil {
				b.Fatal(err)
			}
			<-done
		}
	})
}

// drainAsCompleted iterates AsCompleted over futs, which must all succeed.
func drainAsCompleted(ctx context.Context, b *testing.B, futs []*future.Future[int]) {
	n := 0
	for _, err := range future.AsCompleted(ctx, futs) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != len(futs) {
		b.Fatalf("yielded %d futures, want %d", n, len(futs))
	}
}

// BenchmarkAsCompleted iterates AsCompleted over benchBatch futures: all
// already done ("ready", the iteration's own cost), and just submitted to a
// GoPool of NumCPU workers ("pool", subscribing and waking as they complete).
func BenchmarkAsCompleted(b *testing.B) {
	ctx := context.Background()
	b.Run("ready", func(b *testing.B) {
		futs := make([]*future.Future[int], benchBatch)
		for i := range futs {
			futs[i] = future.Completed(i)
		}
		b.ReportAllocs()
		for b.Loop() {
			drainAsCompleted(ctx, b, futs)
		}
		reportPerTask(b)
	})
	b.Run("pool", func(b *testing.B) {
		p := benchPool(b, runtime.NumCPU())
		futs := make([]*future.Future[int], benchBatch)
		b.ReportAllocs()
		for b.Loop() {
			for i := range futs {
				f, err := executor.Call(ctx, p, benchInc, i)
				if err != nil {
					b.Fatal(err)
				}
				futs[i] = f
			}
			drainAsCompleted(ctx, b, futs)
		}
		reportPerTask(b)
	})
}

// BenchmarkCallCtxPerTask is Call with a context of its own per task, as a
// server that submits one task per request does: "bg" makes no context
// (the reference), "withCancel" makes one context.WithCancel per task and
// cancels it once the task is done. The difference between the two is the
// caller's context.WithCancel (two allocations) plus what the pool pays for
// a ctx it cannot share with another task: the derived context and, for a
// task that waits in the queue, the watch that removes it if ctx ends.
func BenchmarkCallCtxPerTask(b *testing.B) {
	for _, workers := range []int{runtime.NumCPU(), 10_000} {
		for _, perTask := range []bool{false, true} {
			name := "bg"
			if perTask {
				name = "withCancel"
			}
			b.Run(name+"/workers="+strconv.Itoa(workers), func(b *testing.B) {
				p := benchPool(b, workers)
				bg := context.Background()
				futs := make([]*future.Future[int], benchBatch)
				cancels := make([]context.CancelFunc, benchBatch)
				b.ReportAllocs()
				for b.Loop() {
					for i := range futs {
						ctx := bg
						if perTask {
							ctx, cancels[i] = context.WithCancel(bg)
						}
						f, err := executor.Call(ctx, p, benchInc, i)
						if err != nil {
							b.Fatal(err)
						}
						futs[i] = f
					}
					for i, f := range futs {
						if v, err := f.Result(bg); err != nil || v != i+1 {
							b.Fatalf("task %d: (%d, %v)", i, v, err)
						}
						if perTask {
							cancels[i]()
						}
					}
				}
				reportPerTask(b)
			})
		}
	}
}
