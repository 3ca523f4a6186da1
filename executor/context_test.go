package executor_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

var errGone = errors.New("client gone")

type ctxKey struct{}

// waitCtx is a task that signals when it starts, then waits for its ctx to
// end and reports what it saw there: the ctx's cause. It returns ctx.Err(),
// as Go functions do.
func waitCtx(started chan<- struct{}, cause chan<- error) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return 0, ctx.Err()
	}
}

// TestRunningTaskSeesSubmitCtx: a running task sees ctx.Done() when the ctx
// it was submitted with ends, with that ctx's cause, and its future fails
// with what the task returned (ctx.Err()): context.Canceled or
// context.DeadlineExceeded. Run through Submit, Call and CallChunk.
func TestRunningTaskSeesSubmitCtx(t *testing.T) {
	type submitter func(ctx context.Context, p executor.Executor, fn func(context.Context) (int, error)) (func(context.Context) error, error)
	viaSubmit := func(ctx context.Context, p executor.Executor, fn func(context.Context) (int, error)) (func(context.Context) error, error) {
		f, err := executor.Submit(ctx, p, fn)
		if err != nil {
			return nil, err
		}
		return f.Err, nil
	}
	viaCall := func(ctx context.Context, p executor.Executor, fn func(context.Context) (int, error)) (func(context.Context) error, error) {
		f, err := executor.Call(ctx, p, executor.Fn(func(ctx context.Context, _ int) (int, error) { return fn(ctx) }), 0)
		if err != nil {
			return nil, err
		}
		return f.Err, nil
	}
	viaChunk := func(ctx context.Context, p executor.Executor, fn func(context.Context) (int, error)) (func(context.Context) error, error) {
		f, err := executor.CallChunk(ctx, p, executor.Fn(func(ctx context.Context, _ int) (int, error) { return fn(ctx) }), []int{0})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			c, err := f.Result(ctx)
			if err != nil {
				return err
			}
			return c.Err(0)
		}, nil
	}
	for _, via := range []struct {
		name string
		run  submitter
	}{{"Submit", viaSubmit}, {"Call", viaCall}, {"CallChunk", viaChunk}} {
		t.Run(via.name+"/cancel", func(t *testing.T) {
			p := newPool(t, executor.WithWorkers(2))
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			started, cause := make(chan struct{}), make(chan error, 1)
			errOf, err := via.run(ctx, p, waitCtx(started, cause))
			if err != nil {
				t.Fatal(err)
			}
			<-started
			cancel(errGone)
			if got := <-cause; got != errGone {
				t.Fatalf("the task saw cause %v, want %v", got, errGone)
			}
			if err := errOf(context.Background()); !errors.Is(err, context.Canceled) {
				t.Fatalf("future: %v, want context.Canceled", err)
			}
		})
		t.Run(via.name+"/deadline", func(t *testing.T) {
			p := newPool(t, executor.WithWorkers(2))
			// The task waits for the deadline, whenever it comes: no timing
			// is assumed, only that it passes.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			want, _ := ctx.Deadline()
			var got time.Time
			started, cause := make(chan struct{}), make(chan error, 1)
			errOf, err := via.run(ctx, p, func(ctx context.Context) (int, error) {
				got, _ = ctx.Deadline()
				return waitCtx(started, cause)(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			<-started
			if c := <-cause; !errors.Is(c, context.DeadlineExceeded) {
				t.Fatalf("the task saw cause %v, want DeadlineExceeded", c)
			}
			if err := errOf(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("future: %v, want context.DeadlineExceeded", err)
			}
			if !got.Equal(want) {
				t.Fatalf("the task's deadline %v, want the submitter's %v", got, want)
			}
		})
	}
}

// TestTaskSeesSubmitCtxValues: values set on the submit ctx are visible in
// the task, for a ctx that can be cancelled, one that cannot
// (context.WithValue over Background) and one detached from its parent's
// cancellation (context.WithoutCancel), which outlives the parent.
func TestTaskSeesSubmitCtxValues(t *testing.T) {
	p := newPool(t, executor.WithWorkers(2))
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-42"))
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"cancellable", parent},
		{"no Done", context.WithValue(context.Background(), ctxKey{}, "request-42")},
		{"WithoutCancel", context.WithoutCancel(parent)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := executor.Submit(tc.ctx, p, func(ctx context.Context) (string, error) {
				v, _ := ctx.Value(ctxKey{}).(string)
				return v, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if v, err := f.Result(context.Background()); v != "request-42" || err != nil {
				t.Fatalf("the task saw %q, %v; want request-42", v, err)
			}
		})
	}

	// WithoutCancel: the parent ends while the task runs; the task does not
	// see it and succeeds.
	started, release := make(chan struct{}), make(chan struct{})
	f, err := executor.Submit(context.WithoutCancel(parent), p, func(ctx context.Context) (error, error) {
		close(started)
		<-release
		return ctx.Err(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	close(release)
	if seen, err := f.Result(context.Background()); seen != nil || err != nil {
		t.Fatalf("a WithoutCancel task saw %v (%v); want its ctx alive", seen, err)
	}
}

// TestSuccessAfterCtxEnded: a task that returns a value after its ctx ended
// succeeds (Go's convention: the outcome is what the task returns).
func TestSuccessAfterCtxEnded(t *testing.T) {
	p := newPool(t, executor.WithWorkers(1))
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	f, err := executor.Submit(ctx, p, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 7, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	if v, err := f.Result(context.Background()); v != 7 || err != nil {
		t.Fatalf("(%d, %v), want (7, nil)", v, err)
	}
}

// TestStopCancelsScopedTasks: Stop cancels the ctx of running tasks with
// cause ErrStopped whatever ctx they were submitted with: Background, one
// that can be cancelled (and is not), and one WithoutCancel.
func TestStopCancelsScopedTasks(t *testing.T) {
	ctx := context.Background()
	p, err := executor.NewGoPool(executor.WithWorkers(3))
	if err != nil {
		t.Fatal(err)
	}
	parent, cancel := context.WithCancel(ctx)
	defer cancel()
	ctxs := []context.Context{ctx, parent, context.WithoutCancel(parent)}
	started, causes := make(chan struct{}), make(chan error, len(ctxs))
	var futs []*future.Future[int]
	for _, c := range ctxs {
		f, err := executor.Submit(c, p, waitCtx(started, causes))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
		<-started
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for range ctxs {
		if c := <-causes; c != executor.ErrStopped {
			t.Fatalf("a running task saw cause %v, want ErrStopped", c)
		}
	}
	for i, f := range futs {
		if err := f.Err(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("task %d: %v, want context.Canceled (what it returned)", i, err)
		}
	}
}

// TestQueuedTaskCtxEndsNeverRuns: tasks waiting in the queue whose ctx ends
// are removed at once, while the only worker is still busy (not when it
// would reach them): their futures fail with the ctx's cause, Stats shows
// them gone, and they never run, which the count of executions proves. The
// tasks of other contexts, queued among them, run once each, in order.
func TestQueuedTaskCtxEndsNeverRuns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		make  func() (context.Context, func())
		match error
	}{
		{"cancel with cause", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(errGone) }
		}, errGone},
		{"cancel", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bg := context.Background()
			p := newPool(t, executor.WithWorkers(1))
			started, release := make(chan struct{}, 1), make(chan struct{})
			submit(t, p, blocker(started, release)) // holds the only worker
			<-started
			ctx, end := tc.make()
			var mu sync.Mutex
			var ran []int // every execution appends its number
			task := func(i int) func(context.Context) (int, error) {
				return func(context.Context) (int, error) {
					mu.Lock()
					ran = append(ran, i)
					mu.Unlock()
					return i, nil
				}
			}
			var doomed, others []*future.Future[int]
			for i := range 10 {
				c := ctx
				if i%2 == 1 {
					c = bg
				}
				f, err := executor.Submit(c, p, task(i))
				if err != nil {
					t.Fatal(err)
				}
				if i%2 == 1 {
					others = append(others, f)
				} else {
					doomed = append(doomed, f)
				}
			}
			if q := p.Stats().Queued; q != 10 {
				t.Fatalf("queued %d, want 10", q)
			}
			end()
			for i, f := range doomed { // fail while the worker is still held
				if err := f.Err(bg); !errors.Is(err, tc.match) {
					t.Fatalf("doomed task %d: %v, want %v", 2*i, err, tc.match)
				}
			}
			if q := p.Stats().Queued; q != 5 {
				t.Fatalf("queued %d after the ctx ended, want 5", q)
			}
			close(release)
			for i, f := range others {
				if v, err := f.Result(bg); v != 2*i+1 || err != nil {
					t.Fatalf("task %d: (%d, %v)", 2*i+1, v, err)
				}
			}
			if err := p.Shutdown(bg); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []int{1, 3, 5, 7, 9}; !slices.Equal(ran, want) {
				t.Fatalf("executions %v, want %v", ran, want)
			}
		})
	}
}

// TestQueuedTaskCtxWatchPutOff: a task queued while a worker is on its way
// to the queue gets no watch on its ctx at once (that worker skips it if
// its ctx has ended); once tasks are left behind with no worker to come,
// the watch is made, and the task is removed at once when its ctx ends.
// The initializer holds the only worker on its way.
func TestQueuedTaskCtxWatchPutOff(t *testing.T) {
	bg := context.Background()
	for _, behind := range []bool{false, true} {
		name := "worker on its way"
		if behind {
			name = "left behind"
		}
		t.Run(name, func(t *testing.T) {
			gate := make(chan struct{})
			p := newPool(t, executor.WithWorkers(1),
				executor.WithInitializer(func(context.Context) error { <-gate; return nil }))
			ctx, cancel := context.WithCancel(bg)
			var ran atomic.Bool
			f, err := executor.Submit(ctx, p, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
			if err != nil {
				t.Fatal(err)
			}
			var other *future.Future[int]
			if behind { // queued too, with no worker left to start: f waits for a busy one
				other = submit(t, p, func(context.Context) (int, error) { return 2, nil })
			}
			cancel()
			if behind { // removed at once, while the worker is still held
				if err := f.Err(bg); !errors.Is(err, context.Canceled) {
					t.Fatalf("err %v, want context.Canceled", err)
				}
			}
			close(gate)
			if err := f.Err(bg); !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			if other != nil {
				if v, err := other.Result(bg); v != 2 || err != nil {
					t.Fatalf("(%d, %v)", v, err)
				}
			}
			if err := p.Shutdown(bg); err != nil {
				t.Fatal(err)
			}
			if ran.Load() {
				t.Fatal("a task whose ctx ended before it started ran")
			}
		})
	}
}

// TestQueuedTaskDeadlineNeverRuns: a queued task whose deadline passes fails
// with context.DeadlineExceeded and never runs; the worker is held all
// along, so the removal did not wait for it.
func TestQueuedTaskDeadlineNeverRuns(t *testing.T) {
	bg := context.Background()
	p := newPool(t, executor.WithWorkers(1))
	started, release := make(chan struct{}, 1), make(chan struct{})
	submit(t, p, blocker(started, release))
	<-started
	var ran atomic.Int64
	ctx, cancel := context.WithTimeout(bg, 10*time.Millisecond)
	defer cancel()
	f, err := executor.Submit(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Err(bg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want DeadlineExceeded", err)
	}
	close(release)
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("the expired task ran %d times", n)
	}
}

// TestScheduleWithEndedCtx: a ctx that has ended makes Submit fail with its
// cause, without a future; nothing runs.
func TestScheduleWithEndedCtx(t *testing.T) {
	p := newPool(t, executor.WithWorkers(1))
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errGone)
	var ran atomic.Int64
	f, err := executor.Submit(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
	if f != nil || err != errGone {
		t.Fatalf("(%v, %v), want no future and %v", f, err, errGone)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 0 {
		t.Fatal("the task ran")
	}
}

// TestChunkStopsAtCtxEnd: once its ctx has ended, a chunk runs no more
// items, after at most a few (it looks every 16): the ones not started get
// the ctx's cause as their error, and none of them ran.
func TestChunkStopsAtCtxEnd(t *testing.T) {
	p := newPool(t, executor.WithWorkers(1))
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	const n = 100
	var ran [n]atomic.Bool
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		ran[x].Store(true)
		if x == 1 {
			cancel(errGone) // the second item ends the ctx
		}
		return x, nil
	})
	args := make([]int, n)
	for i := range args {
		args[i] = i
	}
	f, err := executor.CallChunk(ctx, p, fn, args)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Result(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k := 0 // the first item not run
	for k < n && ran[k].Load() {
		k++
	}
	if k < 2 || k > 2+16 {
		t.Fatalf("%d items ran after the ctx ended, want at most 16", k-2)
	}
	for i := range n {
		var want error
		if i >= k {
			want = errGone
		}
		if c.Err(i) != want || (i >= k && ran[i].Load()) {
			t.Fatalf("item %d: %v (ran %v), want %v", i, c.Err(i), ran[i].Load(), want)
		}
	}
}

// TestMapBreakCancelsRunning: breaking out of Map cancels the ctx of the
// calls still running, not only the ones not started.
func TestMapBreakCancelsRunning(t *testing.T) {
	p := newPool(t, executor.WithWorkers(2))
	started, cause := make(chan struct{}), make(chan error, 1)
	fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
		if x == 0 {
			return 0, nil
		}
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return 0, ctx.Err()
	})
	for range executor.Map(context.Background(), p, fn, slices.Values([]int{0, 1}), executor.WithBufferSize(2)) {
		<-started // call 1 runs
		break
	}
	if c := <-cause; !errors.Is(c, context.Canceled) {
		t.Fatalf("the running call saw %v, want context.Canceled", c)
	}
}

// TestHooksOfExpiredTask: a queued task removed because its ctx ended is
// reported once, as not run and cancelled, even with a cause of its own.
func TestHooksOfExpiredTask(t *testing.T) {
	bg := context.Background()
	var mu sync.Mutex
	var fins []executor.Finish
	h := &executor.Hooks{Finished: func(f executor.Finish) {
		mu.Lock()
		fins = append(fins, f)
		mu.Unlock()
	}}
	p := newPool(t, executor.WithWorkers(1), executor.WithHooks(h))
	started, release := make(chan struct{}, 1), make(chan struct{})
	submit(t, p, blocker(started, release))
	<-started
	ctx, cancel := context.WithCancelCause(bg)
	f, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	cancel(errGone)
	if err := f.Err(bg); err != errGone {
		t.Fatalf("%v, want %v", err, errGone)
	}
	close(release)
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []executor.Finish
	for _, fin := range fins {
		if !fin.Ran {
			got = append(got, fin)
		}
	}
	if len(fins) != 2 || len(got) != 1 || got[0].Outcome != executor.OutcomeCancelled {
		t.Fatalf("Finished calls %+v, want the blocker's and one cancelled, not run", fins)
	}
}

// TestFutureCancelKeepsPythonMeaning: Future.Cancel of a running task
// reports false and leaves its ctx alone; of a queued task it cancels it,
// and it never runs.
func TestFutureCancelKeepsPythonMeaning(t *testing.T) {
	bg := context.Background()
	p := newPool(t, executor.WithWorkers(1))
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	started, release := make(chan struct{}), make(chan struct{})
	running, err := executor.Submit(ctx, p, func(ctx context.Context) (error, error) {
		close(started)
		<-release
		return ctx.Err(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	var ran atomic.Int64
	queued, err := executor.Submit(ctx, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil })
	if err != nil {
		t.Fatal(err)
	}
	if running.Cancel() {
		t.Fatal("Cancel of a running task reported true")
	}
	if !queued.Cancel() {
		t.Fatal("Cancel of a queued task reported false")
	}
	close(release)
	if seen, err := running.Result(bg); seen != nil || err != nil {
		t.Fatalf("running task saw %v, %v; want its ctx alive", seen, err)
	}
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 0 {
		t.Fatal("a cancelled task ran")
	}
}

// TestBackgroundTasksUnchanged: tasks submitted with context.Background()
// or context.TODO() cost one allocation each, as before, and their ctx is
// the pool's: not done until Stop.
func TestBackgroundTasksUnchanged(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newPool(t, executor.WithWorkers(1))
	inc := executor.Fn(func(ctx context.Context, x int) (int, error) {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return x + 1, nil
	})
	for _, ctx := range []context.Context{context.Background(), context.TODO()} {
		allocs := testing.AllocsPerRun(200, func() {
			f, err := executor.Call(ctx, p, inc, 1)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := f.Result(ctx); v != 2 || err != nil {
				t.Fatal(v, err)
			}
		})
		if allocs > 1 {
			t.Fatalf("%v allocations per task, want 1 (the future and the task)", allocs)
		}
	}
	// One cancellable ctx, submit and wait one task at a time: the scope
	// lingers between tasks, so nothing is added per task.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	allocs := testing.AllocsPerRun(200, func() {
		f, err := executor.Call(ctx, p, inc, 1)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.Result(context.Background()); v != 2 || err != nil {
			t.Fatal(v, err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per task with one cancellable ctx, want 1", allocs)
	}
}

// TestScopesReleased: the derived contexts are given back: once the tasks
// are done and another ctx has come (or the pool is released), the derived
// context of a ctx is cancelled, so it no longer hangs on its parent; and
// none is left behind after many ctxs, one per task, some of which end
// while queued.
func TestScopesReleased(t *testing.T) {
	bg := context.Background()
	p, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	var seen []context.Context
	var mu sync.Mutex
	// Some tasks panic, some call runtime.Goexit: every way a task can end
	// gives its context back.
	record := func(i int) func(ctx context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			mu.Lock()
			seen = append(seen, ctx)
			mu.Unlock()
			switch {
			case i%5 == 1:
				panic("boom")
			case i%7 == 2:
				runtime.Goexit()
			}
			return 0, nil
		}
	}
	var futs []*future.Future[int]
	var cancels []context.CancelFunc
	for i := range 200 {
		ctx, cancel := context.WithCancel(bg)
		cancels = append(cancels, cancel)
		f, err := executor.Submit(ctx, p, record(i))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
		if i%3 == 0 {
			cancel() // may end it while queued, running or done
		}
	}
	for _, f := range futs {
		_ = f.Err(bg)
	}
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, ctx := range seen {
		if ctx.Err() == nil {
			t.Fatalf("task context %d still alive after its task and the pool are done", i)
		}
	}
	for _, c := range cancels {
		c()
	}
}
