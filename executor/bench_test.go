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
		// A retry policy that never retries costs no allocation more per
		// task: its state is allocated with the task (see BenchmarkCallOptions).
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

// BenchmarkCallOptions is Call + Result, one task at a time on a GoPool of
// one worker, without call options and with retry policies that never
// retry (one attempt only; three attempts, but a RetryIf that retries
// nothing, for tasks that succeed and tasks that fail): what a policy costs
// a task that ends on its first attempt. The policy's state is allocated
// with the task and its future: the allocs/op are those without options.
func BenchmarkCallOptions(b *testing.B) {
	ok := executor.Fn(func(_ context.Context, x int) (int, error) { return x + 1, nil })
	failing := executor.Fn(func(_ context.Context, x int) (int, error) { return 0, errBoom })
	never := executor.NewRetry(3, executor.RetryIf(func(error) bool { return false }))
	for _, tc := range []struct {
		name string
		fn   executor.Func[int, int]
		opts []executor.CallOption
	}{
		{"none/ok", ok, nil},
		{"NewRetry(1)/ok", ok, []executor.CallOption{executor.NewRetry(1)}},
		{"RetryIf(false)/ok", ok, []executor.CallOption{never}},
		{"none/error", failing, nil},
		{"RetryIf(false)/error", failing, []executor.CallOption{never}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := benchPool(b, 1)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				f, err := executor.Call(ctx, p, tc.fn, 1, tc.opts...)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = f.Result(ctx)
			}
		})
	}
}

// BenchmarkPending measures what a task holds while it waits in a GoPool's
// queue: the pool's only worker is held by a task of its own while the
// benchmark submits, in segments of up to pendingSegment tasks (then the
// worker is let go and runs them), and B/pending is the growth of the live
// heap per task submitted (after a collection): for Submit, the task's own
// closure (16 bytes) included.
func BenchmarkPending(b *testing.B) {
	for _, tc := range []struct {
		name   string
		submit func(context.Context, executor.Executor, int) (*future.Future[int], error)
	}{
		{"Submit", func(ctx context.Context, p executor.Executor, i int) (*future.Future[int], error) {
			return executor.Submit(ctx, p, func(context.Context) (int, error) { return i + 1, nil })
		}},
		{"Call", func(ctx context.Context, p executor.Executor, i int) (*future.Future[int], error) {
			return executor.Call(ctx, p, benchInc, i)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := benchPool(b, 1)
			s := pendingSegment{p: p, futs: make([]*future.Future[int], 0, pendingSegmentLen)}
			s.hold(b)
			b.ReportAllocs()
			for b.Loop() {
				f, err := tc.submit(context.Background(), p, len(s.futs))
				if err != nil {
					b.Fatal(err)
				}
				s.futs = append(s.futs, f)
				if len(s.futs) == pendingSegmentLen {
					b.StopTimer()
					s.end(b)
					s.hold(b)
					b.StartTimer()
				}
			}
			b.StopTimer()
			s.end(b)
			b.ReportMetric(float64(s.grown)/float64(s.tasks), "B/pending")
		})
	}
}

// pendingSegmentLen bounds the tasks BenchmarkPending keeps waiting at once.
const pendingSegmentLen = 100_000

// pendingSegment is one segment of BenchmarkPending: a task holds the
// pool's worker while futs are submitted.
type pendingSegment struct {
	p            *executor.GoPool
	futs         []*future.Future[int]
	release      chan struct{}
	holder       *future.Future[int]
	before       uint64 // live heap when the segment began
	grown, tasks int64  // over all segments
}

// hold occupies the pool's worker and records the live heap.
func (s *pendingSegment) hold(b *testing.B) {
	started := make(chan struct{})
	s.release = make(chan struct{})
	release := s.release
	f, err := executor.Submit(context.Background(), s.p, func(context.Context) (int, error) {
		close(started)
		<-release
		return 0, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	<-started
	s.holder = f
	s.before = liveHeap()
}

// end records the live heap, lets the worker go and checks every result.
func (s *pendingSegment) end(b *testing.B) {
	s.grown += int64(liveHeap()) - int64(s.before)
	s.tasks += int64(len(s.futs))
	close(s.release)
	ctx := context.Background()
	if err := s.holder.Err(ctx); err != nil {
		b.Fatal(err)
	}
	for i, f := range s.futs {
		if v, err := f.Result(ctx); v != i+1 || err != nil {
			b.Fatalf("task %d: (%d, %v)", i, v, err)
		}
	}
	clear(s.futs)
	s.futs = s.futs[:0]
}

// liveHeap returns the bytes of live heap objects, after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
