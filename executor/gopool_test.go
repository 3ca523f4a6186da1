package executor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

var errBoom = errors.New("boom")

func newPool(t *testing.T, opts ...executor.Option) *executor.GoPool {
	t.Helper()
	p, err := executor.NewGoPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return p
}

func submit[R any](t *testing.T, ex executor.Executor, fn func(context.Context) (R, error)) *future.Future[R] {
	t.Helper()
	f, err := executor.Submit(context.Background(), ex, fn)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// blocker returns a task that signals when it starts and returns when
// release is closed.
func blocker(started chan<- struct{}, release <-chan struct{}) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		started <- struct{}{}
		<-release
		return 1, nil
	}
}

func TestNewGoPoolOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []executor.Option
	}{
		{"zero workers", []executor.Option{executor.WithWorkers(0)}},
		{"negative workers", []executor.Option{executor.WithWorkers(-1)}},
		{"negative queue", []executor.Option{executor.WithQueueLimit(-1)}},
		{"fail fast without limit", []executor.Option{executor.WithFailFast()}},
		{"zero idle timeout", []executor.Option{executor.WithIdleTimeout(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := executor.NewGoPool(tc.opts...); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	p := newPool(t)
	if want := min(32, runtime.NumCPU()+4); p.Workers() != want {
		t.Fatalf("default workers %d, want %d", p.Workers(), want)
	}
}

func TestResultsAndErrors(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, executor.WithWorkers(4))
	ok := submit(t, p, func(context.Context) (string, error) { return "v", nil })
	bad := submit(t, p, func(context.Context) (string, error) { return "", errBoom })
	if v, err := ok.Result(ctx); v != "v" || err != nil {
		t.Fatal(v, err)
	}
	if err := bad.Err(ctx); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	// A function registered-style Func and Call.
	double := executor.Fn(func(_ context.Context, x int) (int, error) { return 2 * x, nil })
	f, err := executor.Call(ctx, p, double, 21)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Result(ctx); v != 42 {
		t.Fatal(v)
	}
}

func TestPanicBecomesError(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, executor.WithWorkers(1))
	f := submit(t, p, func(context.Context) (int, error) { panic(errBoom) })
	err := f.Err(ctx)
	var pe *executor.PanicError
	if !errors.As(err, &pe) || !errors.Is(err, errBoom) || len(pe.Stack) == 0 {
		t.Fatalf("err = %v", err)
	}
	// The worker lives on.
	g := submit(t, p, func(context.Context) (int, error) { return 1, nil })
	if v, err := g.Result(ctx); v != 1 || err != nil {
		t.Fatal(v, err)
	}
}

func TestCallChunk(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, executor.WithWorkers(2))
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		switch x {
		case 3:
			return 0, errBoom
		case 4:
			panic("four")
		}
		return x * 10, nil
	})
	f, err := executor.CallChunk(ctx, p, fn, []int{1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pe *executor.PanicError
	if c.Len() != 5 || c.Values[0] != 10 || c.Values[4] != 50 || !errors.Is(c.Err(2), errBoom) || !errors.As(c.Err(3), &pe) || c.Err(0) != nil {
		t.Fatalf("%+v", c)
	}
	all, err := executor.CallChunk(ctx, p, fn, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := all.Result(ctx); c.Errs != nil {
		t.Fatal("Errs must be nil when every item succeeds")
	}

	// CallChunkInto writes in place, and refuses a dst of the wrong length.
	dst := make([]int, 2)
	into, err := executor.CallChunkInto(ctx, p, fn, []int{1, 2}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := into.Result(ctx); &c.Values[0] != &dst[0] || dst[0] != 10 || dst[1] != 20 {
		t.Fatalf("values %v not written into dst", dst)
	}
	if _, err := executor.CallChunkInto(ctx, p, fn, []int{1, 2}, make([]int, 1)); err == nil {
		t.Fatal("want an error for a dst of the wrong length")
	}
}

func TestSubmitAfterShutdown(t *testing.T) {
	p, err := executor.NewGoPool()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil { // and Stop after Shutdown too
		t.Fatal(err)
	}
	if _, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, executor.ErrShutdown) {
		t.Fatalf("Submit after Shutdown: %v", err)
	}
}

func TestShutdownDrains(t *testing.T) {
	ctx := context.Background()
	p, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}, 1), make(chan struct{})
	running := submit(t, p, blocker(started, release))
	<-started
	queued := submit(t, p, func(context.Context) (int, error) { return 2, nil })

	// A ctx that ends first: Shutdown returns its error, the work goes on.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	close(release)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := running.Result(ctx); v != 1 {
		t.Fatal(v)
	}
	if v, err := queued.Result(ctx); v != 2 || err != nil {
		t.Fatal("queued work must finish on a graceful shutdown:", v, err)
	}
}

func TestShutdownCancelPending(t *testing.T) {
	ctx := context.Background()
	p, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}, 1), make(chan struct{})
	running := submit(t, p, blocker(started, release))
	<-started
	var ran atomic.Bool
	queued := submit(t, p, func(context.Context) (int, error) { ran.Store(true); return 2, nil })
	done := make(chan error)
	go func() { done <- p.Shutdown(ctx, executor.CancelPending()) }()
	// Cancellation is visible at once, before the running task ends.
	if err := queued.Err(ctx); !errors.Is(err, future.ErrCancelled) {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, err := running.Result(ctx); v != 1 || err != nil {
		t.Fatal("running work must finish:", v, err)
	}
	if ran.Load() {
		t.Fatal("a cancelled task ran")
	}
}

func TestStop(t *testing.T) {
	ctx := context.Background()
	p, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	running := submit(t, p, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})
	<-started
	queued := submit(t, p, func(context.Context) (int, error) { return 2, nil })
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := running.Err(ctx); !errors.Is(err, executor.ErrStopped) {
		t.Fatalf("running task's ctx cause: %v", err)
	}
	if err := queued.Err(ctx); !errors.Is(err, executor.ErrStopped) {
		t.Fatalf("queued: %v", err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, executor.ErrShutdown) {
		t.Fatal(err)
	}
}

func TestInitializerOncePerWorker(t *testing.T) {
	ctx := context.Background()
	var inits atomic.Int32
	p := newPool(t, executor.WithWorkers(3), executor.WithInitializer(func(context.Context) error {
		inits.Add(1)
		return nil
	}))
	started, release := make(chan struct{}, 3), make(chan struct{})
	var fs []*future.Future[int]
	for range 3 {
		fs = append(fs, submit(t, p, blocker(started, release)))
	}
	for range 3 {
		<-started
	}
	close(release)
	for range 20 {
		fs = append(fs, submit(t, p, func(context.Context) (int, error) { return 1, nil }))
	}
	for _, f := range fs {
		if err := f.Err(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := inits.Load(); n != 3 {
		t.Fatalf("initializer ran %d times for 3 workers", n)
	}
}

func TestInitializerFailureBreaks(t *testing.T) {
	ctx := context.Background()
	core, logs := observer.New(zap.InfoLevel)
	initErr := errors.New("no database")
	gate := make(chan struct{})
	p := newPool(t, executor.WithWorkers(1), executor.WithLogger(zap.New(core)),
		executor.WithInitializer(func(context.Context) error { <-gate; return initErr }))
	first := submit(t, p, func(context.Context) (int, error) { return 1, nil })
	queued := submit(t, p, func(context.Context) (int, error) { return 2, nil })
	close(gate)
	for _, f := range []*future.Future[int]{first, queued} {
		err := f.Err(ctx)
		if !errors.Is(err, executor.ErrBroken) || !errors.Is(err, initErr) {
			t.Fatalf("err = %v", err)
		}
	}
	_, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 0, nil })
	if !errors.Is(err, executor.ErrBroken) || !errors.Is(err, initErr) {
		t.Fatalf("Submit on broken: %v", err)
	}
	if logs.FilterMessage("initializer failed; executor broken").Len() != 1 {
		t.Fatalf("logs: %v", logs.All())
	}
}

func TestIdleWorkerReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var starts atomic.Int32
		p := newPool(t, executor.WithWorkers(8), executor.WithHooks(&executor.Hooks{WorkerStarted: func() { starts.Add(1) }}))
		for range 50 {
			f := submit(t, p, func(context.Context) (int, error) { return 1, nil })
			if err := f.Err(ctx); err != nil {
				t.Fatal(err)
			}
			settled(t, func() bool { return p.Stats().Idle == p.Stats().Workers })
		}
		if n := starts.Load(); n != 1 {
			t.Fatalf("%d workers started for sequential work; an idle one must be reused", n)
		}
	})
}

// TestIdleWorkersExpire: an idle worker exits after the idle timeout, and
// when the WorkerStopped hook says so, Stats no longer counts it; a new
// task then starts a new worker. synctest's clock makes the timeout pass
// once every goroutine waits, without a real wait.
func TestIdleWorkersExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stopped := make(chan executor.WorkerExit, 4)
		p := newPool(t, executor.WithWorkers(4), executor.WithIdleTimeout(5*time.Millisecond),
			executor.WithHooks(&executor.Hooks{WorkerStopped: func(r executor.WorkerExit) { stopped <- r }}))
		f := submit(t, p, func(context.Context) (int, error) { return 1, nil })
		f.Err(context.Background())
		if r := <-stopped; r != executor.ExitIdle {
			t.Fatalf("reason %q", r)
		}
		if s := p.Stats(); s.Workers != 0 || s.Idle != 0 {
			t.Fatalf("%+v", s)
		}
		// A new task starts a new worker.
		g := submit(t, p, func(context.Context) (int, error) { return 2, nil })
		if v, _ := g.Result(context.Background()); v != 2 {
			t.Fatal(v)
		}
	})
}

// TestHandedOverWorkerReused: a bounded queue that is full hands a task
// straight to a new worker; once idle, that worker is woken like any other
// (started once, not twice: the pool's counts stay right and Shutdown
// returns). The initializer holds both workers until both tasks are in.
func TestHandedOverWorkerReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var starts atomic.Int32
		gate := make(chan struct{})
		p := newPool(t, executor.WithWorkers(2), executor.WithQueueLimit(1),
			executor.WithInitializer(func(context.Context) error { <-gate; return nil }),
			executor.WithHooks(&executor.Hooks{WorkerStarted: func() { starts.Add(1) }}))
		fs := []*future.Future[int]{
			submit(t, p, func(context.Context) (int, error) { return 1, nil }), // queued, a worker started
			submit(t, p, func(context.Context) (int, error) { return 2, nil }), // queue full: handed to a second one
		}
		close(gate)
		for _, f := range fs {
			if err := f.Err(ctx); err != nil {
				t.Fatal(err)
			}
		}
		settled(t, func() bool { s := p.Stats(); return s.Workers == 2 && s.Idle == 2 })
		// Two tasks that wait for each other: both idle workers are woken.
		for range 10 {
			started, release := make(chan struct{}, 2), make(chan struct{})
			both := []*future.Future[int]{submit(t, p, blocker(started, release)), submit(t, p, blocker(started, release))}
			<-started
			<-started
			close(release)
			for _, f := range both {
				if err := f.Err(ctx); err != nil {
					t.Fatal(err)
				}
			}
			settled(t, func() bool { return p.Stats().Idle == 2 })
		}
		if n := starts.Load(); n != 2 {
			t.Fatalf("%d workers started, want 2", n)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if s := p.Stats(); s.Workers != 0 {
			t.Fatalf("after Shutdown: %+v", s)
		}
	})
}

func TestBoundedQueue(t *testing.T) {
	ctx := context.Background()
	t.Run("backpressure", func(t *testing.T) {
		p := newPool(t, executor.WithWorkers(1), executor.WithQueueLimit(1))
		started, release := make(chan struct{}, 1), make(chan struct{})
		submit(t, p, blocker(started, release))
		<-started
		submit(t, p, func(context.Context) (int, error) { return 2, nil }) // fills the queue
		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		if _, err := executor.Submit(short, p, func(context.Context) (int, error) { return 3, nil }); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Submit on a full queue: %v", err)
		}
		res := make(chan *future.Future[int])
		go func() {
			f, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 4, nil })
			if err != nil {
				t.Error(err)
			}
			res <- f
		}()
		close(release) // room appears: the blocked Submit goes through
		if v, _ := (<-res).Result(ctx); v != 4 {
			t.Fatal(v)
		}
	})
	t.Run("fail fast", func(t *testing.T) {
		p := newPool(t, executor.WithWorkers(1), executor.WithQueueLimit(1), executor.WithFailFast())
		started, release := make(chan struct{}, 1), make(chan struct{})
		defer close(release)
		submit(t, p, blocker(started, release))
		<-started
		submit(t, p, func(context.Context) (int, error) { return 2, nil })
		if _, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 3, nil }); !errors.Is(err, executor.ErrOverloaded) {
			t.Fatalf("want ErrOverloaded, got %v", err)
		}
	})
}

func TestCancelledTaskSkipped(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, executor.WithWorkers(1))
	started, release := make(chan struct{}, 1), make(chan struct{})
	submit(t, p, blocker(started, release))
	<-started
	var ran atomic.Bool
	f := submit(t, p, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
	if !f.Cancel() {
		t.Fatal("cancel of a queued task failed")
	}
	after := submit(t, p, func(context.Context) (int, error) { return 2, nil })
	close(release)
	if v, _ := after.Result(ctx); v != 2 {
		t.Fatal(v)
	}
	if ran.Load() {
		t.Fatal("a cancelled task ran")
	}
}

func TestHooks(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	outcomes := map[executor.Outcome]int{}
	var submitted, started atomic.Int32
	h := &executor.Hooks{
		Submitted: func() { submitted.Add(1) },
		Started:   func(wait time.Duration) { started.Add(1) },
		Finished: func(f executor.Finish) {
			mu.Lock()
			outcomes[f.Outcome]++
			mu.Unlock()
		},
	}
	p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(h))
	if err != nil {
		t.Fatal(err)
	}
	gate, release := make(chan struct{}, 1), make(chan struct{})
	submit(t, p, blocker(gate, release))
	<-gate
	submit(t, p, func(context.Context) (int, error) { return 0, errBoom })
	submit(t, p, func(context.Context) (int, error) { panic(1) })
	c := submit(t, p, func(context.Context) (int, error) { return 0, nil })
	c.Cancel()
	submit(t, p, func(context.Context) (int, error) { return 0, context.DeadlineExceeded })
	close(release)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[executor.Outcome]int{executor.OutcomeOK: 1, executor.OutcomeError: 1, executor.OutcomePanic: 1, executor.OutcomeCancelled: 1, executor.OutcomeTimeout: 1}
	mu.Lock()
	defer mu.Unlock()
	for o, n := range want {
		if outcomes[o] != n {
			t.Errorf("%v: %d, want %d (all: %v)", o, outcomes[o], n, outcomes)
		}
	}
	if submitted.Load() != 5 || started.Load() != 4 {
		t.Fatalf("submitted %d started %d", submitted.Load(), started.Load())
	}
}

// ownHooks implements Hooks.Own for tests: it keeps the pool's read
// function and records the calls to the hooks it hands out.
type ownHooks struct {
	t        *testing.T
	mu       sync.Mutex
	read     func() executor.Counts
	owns     int
	started  int
	finished map[executor.Outcome]int
	released int
}

func (o *ownHooks) hooks() *executor.Hooks {
	o.finished = map[executor.Outcome]int{}
	return &executor.Hooks{
		Submitted: func() { o.t.Error("Submitted called on the hooks that Own replaced") },
		Own: func(read func() executor.Counts) (*executor.Hooks, func()) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.read = read
			o.owns++
			return &executor.Hooks{
					Submitted: func() { o.t.Error("Submitted called by an executor with its own counts") },
					Started: func(time.Duration) {
						o.mu.Lock()
						o.started++
						o.mu.Unlock()
					},
					Finished: func(f executor.Finish) {
						o.mu.Lock()
						o.finished[f.Outcome]++
						o.mu.Unlock()
					},
				}, func() {
					o.mu.Lock()
					o.released++
					o.mu.Unlock()
				}
		},
	}
}

func (o *ownHooks) counts() executor.Counts {
	o.mu.Lock()
	read := o.read
	o.mu.Unlock()
	return read()
}

// TestHooksOwn: a GoPool given hooks with Own counts for itself: its read
// function reports tasks accepted, queued and running at each moment, it
// calls the hooks Own returned (never Submitted; Started for the tasks it
// times, here all of them; Finished once per task), and it releases once,
// at Shutdown.
func TestHooksOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		o := &ownHooks{t: t}
		p, err := executor.NewGoPool(executor.WithWorkers(2), executor.WithHooks(o.hooks()))
		if err != nil {
			t.Fatal(err)
		}
		if o.owns != 1 {
			t.Fatalf("Own called %d times", o.owns)
		}
		gate, release := make(chan struct{}), make(chan struct{})
		fs := []future.Awaitable{submit(t, p, blocker(gate, release)), submit(t, p, blocker(gate, release))}
		<-gate
		<-gate
		if got, want := o.counts(), (executor.Counts{Submitted: 2, Running: 2}); got != want {
			t.Fatalf("both workers busy: %+v, want %+v", got, want)
		}
		fs = append(fs,
			submit(t, p, func(context.Context) (int, error) { return 0, errBoom }),
			submit(t, p, func(context.Context) (int, error) { return 2, nil }))
		victim := submit(t, p, func(context.Context) (int, error) { return 3, nil })
		victim.Cancel()
		if got, want := o.counts(), (executor.Counts{Submitted: 5, Queued: 3, Running: 2}); got != want {
			t.Fatalf("three queued: %+v, want %+v", got, want)
		}
		close(release)
		for _, f := range append(fs, victim) {
			_ = f.Err(ctx)
		}
		settled(t, func() bool { return o.counts() == executor.Counts{Submitted: 5} })
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		_ = p.Shutdown(ctx)
		o.mu.Lock()
		defer o.mu.Unlock()
		want := map[executor.Outcome]int{executor.OutcomeOK: 3, executor.OutcomeError: 1, executor.OutcomeCancelled: 1}
		for oc, n := range want {
			if o.finished[oc] != n {
				t.Errorf("%v: %d, want %d (all: %v)", oc, o.finished[oc], n, o.finished)
			}
		}
		if o.started != 4 || o.released != 1 {
			t.Errorf("started %d (want 4, the tasks that ran), released %d (want 1)", o.started, o.released)
		}
	})
}

// TestHooksOwnStopAndBroken: the own counts come back to nothing queued and
// nothing running when Stop fails the queue, and when a failing initializer
// breaks the pool with a task in hand.
func TestHooksOwnStopAndBroken(t *testing.T) {
	ctx := context.Background()
	t.Run("stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &ownHooks{t: t}
			p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(o.hooks()))
			if err != nil {
				t.Fatal(err)
			}
			gate := make(chan struct{})
			running := submit(t, p, func(ctx context.Context) (int, error) {
				gate <- struct{}{}
				<-ctx.Done()
				return 0, context.Cause(ctx)
			})
			<-gate
			queued := []*future.Future[int]{
				submit(t, p, func(context.Context) (int, error) { return 1, nil }),
				submit(t, p, func(context.Context) (int, error) { return 1, nil }),
			}
			if got, want := o.counts(), (executor.Counts{Submitted: 3, Queued: 2, Running: 1}); got != want {
				t.Fatalf("%+v, want %+v", got, want)
			}
			if err := p.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			for _, f := range append(queued, running) {
				if err := f.Err(ctx); !errors.Is(err, executor.ErrStopped) {
					t.Errorf("err %v, want ErrStopped", err)
				}
			}
			if got, want := o.counts(), (executor.Counts{Submitted: 3}); got != want {
				t.Fatalf("after Stop: %+v, want %+v", got, want)
			}
			if o.released != 1 {
				t.Errorf("released %d times", o.released)
			}
		})
	})
	t.Run("broken", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &ownHooks{t: t}
			p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(o.hooks()),
				executor.WithInitializer(func(context.Context) error { return errBoom }))
			if err != nil {
				t.Fatal(err)
			}
			f := submit(t, p, func(context.Context) (int, error) { return 1, nil })
			if err := f.Err(ctx); !errors.Is(err, executor.ErrBroken) || !errors.Is(err, errBoom) {
				t.Fatalf("err %v, want ErrBroken wrapping errBoom", err)
			}
			settled(t, func() bool { return o.counts() == executor.Counts{Submitted: 1} })
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestLifecycleLogs(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	p, err := executor.NewGoPool(executor.WithName("web"), executor.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	f := submit(t, p, func(context.Context) (int, error) { return 1, nil })
	f.Err(context.Background())
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"worker started", "worker stopped", "shutdown begun", "shutdown done"} {
		entries := logs.FilterMessage(msg).FilterField(zap.String("executor", "web"))
		if entries.Len() == 0 {
			t.Errorf("no %q log with executor=web", msg)
		}
	}
}

// settled waits, in a synctest bubble, until every goroutine of the
// bubble is durably blocked (the pool's workers idle, its reaper waiting on
// its timer), and then requires cond: the pool's bookkeeping after the
// last future completed has happened by then.
func settled(t *testing.T, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatal("condition not reached once the pool settled")
	}
}

// TestClosedPoolReleasesItself: Shutdown and Stop with a ctx that has
// already ended return its error without waiting, and each pool then
// releases every goroutine it started (its reaper, ants' goroutines) by
// itself once its last task has returned, as CPython's shutdown(wait=False)
// threads exit by themselves. Half the pools are idle, half hold a task
// that ends only when the test releases it.
func TestClosedPoolReleasesItself(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	var busy []*future.Future[int]
	for i := range 100 {
		p, err := executor.NewGoPool(executor.WithWorkers(2))
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			started := make(chan struct{}, 1)
			busy = append(busy, submit(t, p, blocker(started, release)))
			<-started
		}
		if i%4 < 2 {
			err = p.Shutdown(ended)
		} else {
			err = p.Stop(ended)
		}
		if i%2 == 1 && !errors.Is(err, context.Canceled) {
			t.Fatalf("pool %d (busy): %v, want context.Canceled", i, err)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("pool %d: %v", i, err)
		}
	}
	close(release)
	for _, f := range busy {
		if v, err := f.Result(context.Background()); v != 1 || err != nil {
			t.Fatalf("(%d, %v)", v, err)
		}
	}
	// Nobody waits on the pools any more: they must let go by themselves.
	// VerifyNone retries for a while, to let the last goroutines return.
	goleak.VerifyNone(t, before)
}
