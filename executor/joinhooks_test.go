package executor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
)

// eventCounts hooks count every event.
type eventCounts struct {
	submitted, started, finished, workers atomic.Int64
}

func (c *eventCounts) hooks() *executor.Hooks {
	return &executor.Hooks{
		Submitted:     func() { c.submitted.Add(1) },
		Started:       func(time.Duration) { c.started.Add(1) },
		Finished:      func(executor.Finish) { c.finished.Add(1) },
		WorkerStarted: func() { c.workers.Add(1) },
	}
}

// Joined hooks feed each of their parts every event, on a real executor.
func TestJoinHooks(t *testing.T) {
	var a, b eventCounts
	h := executor.JoinHooks(a.hooks(), nil, b.hooks())
	ex, err := executor.NewGoPool(executor.WithWorkers(2), executor.WithHooks(h))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 50
	for range n {
		f, err := executor.Submit(ctx, ex, func(context.Context) (int, error) { return 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := ex.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*eventCounts{"a": &a, "b": &b} {
		if c.submitted.Load() != n || c.started.Load() != n || c.finished.Load() != n || c.workers.Load() < 1 {
			t.Errorf("%s: submitted %d, started %d, finished %d, workers %d; want %d tasks", name,
				c.submitted.Load(), c.started.Load(), c.finished.Load(), c.workers.Load(), n)
		}
	}
}

func TestJoinHooksTrivial(t *testing.T) {
	h := &executor.Hooks{TimeEvery: 8}
	if executor.JoinHooks() != nil || executor.JoinHooks(nil, nil) != nil {
		t.Error("JoinHooks of nothing is not nil")
	}
	if executor.JoinHooks(nil, h) != h {
		t.Error("JoinHooks of one is not that one")
	}
	if j := executor.JoinHooks(h, &executor.Hooks{TimeEvery: 2}); j.TimeEvery != 2 {
		t.Errorf("TimeEvery %d, want the smaller, 2", j.TimeEvery)
	}
	if j := executor.JoinHooks(h, &executor.Hooks{}); j.TimeEvery != 1 {
		t.Errorf("TimeEvery %d, want 1: the other times every task", j.TimeEvery)
	}
}

// Own is joined only when every part has it; then each part gets its own
// hooks and its release.
func TestJoinHooksOwn(t *testing.T) {
	var owned, released atomic.Int64
	own := func() *executor.Hooks {
		return &executor.Hooks{Own: func(read func() executor.Counts) (*executor.Hooks, func()) {
			owned.Add(1)
			return &executor.Hooks{}, func() { released.Add(1) }
		}}
	}
	if j := executor.JoinHooks(own(), &executor.Hooks{}); j.Own != nil {
		t.Fatal("Own joined with hooks that do not count for themselves")
	}
	ex, err := executor.NewGoPool(executor.WithHooks(executor.JoinHooks(own(), own())))
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if owned.Load() != 2 || released.Load() != 2 {
		t.Fatalf("Own called %d times, release %d; want 2 and 2", owned.Load(), released.Load())
	}
}
