package executor_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// hookCounts records what a GoPool reports through its hooks.
type hookCounts struct {
	mu       sync.Mutex
	finished map[executor.Outcome]int
	started  int // workers
	stopped  map[executor.WorkerExit]int
}

func (c *hookCounts) hooks() *executor.Hooks {
	c.finished = map[executor.Outcome]int{}
	c.stopped = map[executor.WorkerExit]int{}
	return &executor.Hooks{
		Finished: func(f executor.Finish) {
			c.mu.Lock()
			c.finished[f.Outcome]++
			c.mu.Unlock()
		},
		WorkerStarted: func() {
			c.mu.Lock()
			c.started++
			c.mu.Unlock()
		},
		WorkerStopped: func(r executor.WorkerExit) {
			c.mu.Lock()
			c.stopped[r]++
			c.mu.Unlock()
		},
	}
}

// check compares the counts with what is wanted; call it after Shutdown.
func (c *hookCounts) check(t *testing.T, finished map[executor.Outcome]int, started int, stopped map[executor.WorkerExit]int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !equalMaps(c.finished, finished) {
		t.Errorf("Finished outcomes %v, want %v", c.finished, finished)
	}
	if c.started != started || !equalMaps(c.stopped, stopped) {
		t.Errorf("workers started %d and stopped %v, want %d and %v", c.started, c.stopped, started, stopped)
	}
}

func equalMaps[K comparable](a, b map[K]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	return true
}

// wantGoexit fails t unless err is (or wraps) the *PanicError of a
// runtime.Goexit, with the stack of the call.
func wantGoexit(t *testing.T, err error) {
	t.Helper()
	var pe *executor.PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "runtime.Goexit") {
		t.Fatalf("err = %v, want a *PanicError for runtime.Goexit", err)
	}
	if !pe.Goexit || !bytes.Contains(pe.Stack, []byte("runtime.Goexit")) {
		t.Fatalf("PanicError{Goexit: %v} with stack:\n%s", pe.Goexit, pe.Stack)
	}
}

// TestTaskGoexit: a task that calls runtime.Goexit (t.FailNow in a task
// does) fails its future with a *PanicError whose Goexit is set instead of
// leaving it running; the dying worker is counted gone and a new one runs
// the task queued behind it; the hooks stay balanced (one Finished per task,
// one WorkerStopped per worker) and Shutdown returns. It covers the three
// task kinds, a chunk failing as a whole at the item that exited.
func TestTaskGoexit(t *testing.T) {
	ctx := context.Background()
	// exitAt returns a Func that waits for gate, then calls runtime.Goexit
	// on the argument 2.
	exitAt := func(gate <-chan struct{}) executor.Func[int, int] {
		return executor.Fn(func(_ context.Context, x int) (int, error) {
			<-gate
			if x == 2 {
				runtime.Goexit()
			}
			return 10 * x, nil
		})
	}
	for _, tc := range []struct {
		name     string
		schedule func(executor.Executor, <-chan struct{}) (future.Awaitable, error)
		wantMsg  string
	}{
		{"Submit", func(ex executor.Executor, gate <-chan struct{}) (future.Awaitable, error) {
			return executor.Submit(ctx, ex, func(context.Context) (int, error) {
				<-gate
				runtime.Goexit()
				return 1, nil
			})
		}, "executor: runtime.Goexit called in task"},
		{"Call", func(ex executor.Executor, gate <-chan struct{}) (future.Awaitable, error) {
			return executor.Call(ctx, ex, exitAt(gate), 2)
		}, "executor: runtime.Goexit called in task"},
		{"CallChunk", func(ex executor.Executor, gate <-chan struct{}) (future.Awaitable, error) {
			return executor.CallChunk(ctx, ex, exitAt(gate), []int{1, 2, 3})
		}, "chunk item 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hc hookCounts
			p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(hc.hooks()))
			if err != nil {
				t.Fatal(err)
			}
			gate := make(chan struct{})
			exiting, err := tc.schedule(p, gate)
			if err != nil {
				t.Fatal(err)
			}
			// Queued behind it on the only worker: only a new worker can run it.
			queued := submit(t, p, func(context.Context) (int, error) { return 7, nil })
			close(gate)
			err = exiting.Err(ctx)
			wantGoexit(t, err)
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err %q does not say %q", err, tc.wantMsg)
			}
			if v, err := queued.Result(ctx); v != 7 || err != nil {
				t.Fatalf("task queued behind the exiting one: (%d, %v)", v, err)
			}
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			hc.check(t, map[executor.Outcome]int{executor.OutcomePanic: 1, executor.OutcomeOK: 1},
				2, map[executor.WorkerExit]int{executor.ExitCrashed: 1, executor.ExitShutdown: 1})
		})
	}
}

// TestTaskGoexitOwnCounts: with hooks that count for themselves (Own), a
// task that calls runtime.Goexit leaves the counts at nothing queued and
// nothing running, and release is still called once.
func TestTaskGoexitOwnCounts(t *testing.T) {
	ctx := context.Background()
	o := &ownHooks{t: t}
	p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(o.hooks()))
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	exiting := submit(t, p, func(context.Context) (int, error) { <-gate; runtime.Goexit(); return 0, nil })
	queued := submit(t, p, func(context.Context) (int, error) { return 2, nil })
	close(gate)
	wantGoexit(t, exiting.Err(ctx))
	if err := queued.Err(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := o.counts(), (executor.Counts{Submitted: 2}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished[executor.OutcomePanic] != 1 || o.finished[executor.OutcomeOK] != 1 || o.released != 1 {
		t.Fatalf("finished %v, released %d", o.finished, o.released)
	}
}

// TestInitializerGoexit: an initializer that calls runtime.Goexit breaks
// the pool as a failing one does: the task that started the worker fails
// with ErrBroken wrapping the Goexit's *PanicError, later Submit calls fail,
// the worker is counted gone and Shutdown returns.
func TestInitializerGoexit(t *testing.T) {
	ctx := context.Background()
	var hc hookCounts
	p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(hc.hooks()),
		executor.WithInitializer(func(context.Context) error { runtime.Goexit(); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	f := submit(t, p, func(context.Context) (int, error) { return 1, nil })
	err = f.Err(ctx)
	if !errors.Is(err, executor.ErrBroken) {
		t.Fatalf("err = %v, want ErrBroken", err)
	}
	wantGoexit(t, err)
	if _, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, executor.ErrBroken) {
		t.Fatalf("Submit on a broken pool: %v", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// OutcomeOf sees the *PanicError first, as for an initializer that panics.
	hc.check(t, map[executor.Outcome]int{executor.OutcomePanic: 1}, 1, map[executor.WorkerExit]int{executor.ExitInitError: 1})
}

// TestHookPanicOutsideTask: a hook that panics around a task (here Started)
// fails that task with a *PanicError instead of leaving it running, the
// worker is counted gone and replaced, and Shutdown returns.
func TestHookPanicOutsideTask(t *testing.T) {
	ctx := context.Background()
	var once sync.Once
	h := &executor.Hooks{Started: func(time.Duration) { once.Do(func() { panic("hook bug") }) }}
	p, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(h))
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32
	first := submit(t, p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
	second := submit(t, p, func(context.Context) (int, error) { return 2, nil })
	var pe *executor.PanicError
	if err := first.Err(ctx); !errors.As(err, &pe) || pe.Value != "hook bug" {
		t.Fatalf("err = %v, want the hook's panic", err)
	}
	if v, err := second.Result(ctx); v != 2 || err != nil {
		t.Fatalf("(%d, %v)", v, err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("the task whose Started hook panicked ran %d times", n)
	}
}
