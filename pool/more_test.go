package pool_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/pool"
)

// refusing is an executor that accepts limit tasks, then refuses work as a
// shut-down executor does.
type refusing struct {
	executor.Executor
	limit int64
	n     atomic.Int64
}

func (r *refusing) Schedule(ctx context.Context, t driver.Task) error {
	if r.n.Add(1) > r.limit {
		return executor.ErrShutdown
	}
	return r.Executor.Schedule(ctx, t)
}

// When the executor refuses work midway, Imap delivers what it accepted, then
// the executor's error, and ends; Map fails with it.
func TestExecutorRefusesMidway(t *testing.T) {
	ctx := context.Background()
	for _, im := range imaps {
		ex, err := executor.NewGoPool(executor.WithWorkers(2))
		if err != nil {
			t.Fatal(err)
		}
		p, err := pool.New(&refusing{Executor: ex, limit: 3}, pool.OwnExecutor())
		if err != nil {
			t.Fatal(err)
		}
		var read atomic.Int64
		var vals []int
		var errs []error
		for v, err := range im.imap(ctx, p, square, endless(&read), pool.WithChunkSize(2)) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			vals = append(vals, v)
		}
		if len(vals) != 6 || len(errs) != 1 || !errors.Is(errs[0], executor.ErrShutdown) {
			t.Errorf("%s: values %v, errors %v; want 6 values then ErrShutdown", im.name, vals, errs)
		}
		if _, err := pool.Map(ctx, p, square, ints(10), pool.WithChunkSize(1)); !errors.Is(err, executor.ErrShutdown) {
			t.Errorf("Map = %v, want ErrShutdown", err)
		}
		if _, err := pool.Apply(ctx, p, square, 1); !errors.Is(err, executor.ErrShutdown) {
			t.Errorf("Apply = %v, want ErrShutdown", err)
		}
		p.Close()
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// Cancelling the future of ApplyAsync cancels the call if it has not started.
func TestApplyAsyncCancel(t *testing.T) {
	p := newPool(t, 1)
	ctx := context.Background()
	g := newGate()
	block, started, release := g.fn, g.started, g.release
	var ran atomic.Bool
	mark := executor.Fn(func(_ context.Context, x int) (int, error) { ran.Store(true); return x, nil })
	first, err := pool.ApplyAsync(ctx, p, block, 1)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	var cb atomic.Bool
	second, err := pool.ApplyAsync(ctx, p, mark, 2, pool.WithCallback(func(int) { cb.Store(true) }))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cancel() {
		t.Fatal("Cancel = false")
	}
	if err := second.Err(ctx); !errors.Is(err, future.ErrCancelled) {
		t.Errorf("Err = %v", err)
	}
	close(release)
	_ = first.Err(ctx)
	p.Close()
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if ran.Load() || cb.Load() {
		t.Errorf("cancelled call ran: %v, callback ran: %v", ran.Load(), cb.Load())
	}
}

// A progress function that panics stops the reports; the call succeeds.
func TestProgressPanic(t *testing.T) {
	var reported atomic.Int64
	p := newPool(t, 2, pool.WithCallbackPanicHandler(func(*future.CallbackPanicError) { reported.Add(1) }))
	var calls atomic.Int64
	got, err := pool.Map(context.Background(), p, square, ints(20), pool.WithChunkSize(1),
		pool.WithProgress(func(int, int) { calls.Add(1); panic("bar") }))
	if err != nil || len(got) != 20 {
		t.Fatalf("Map = %v, %v", got, err)
	}
	if calls.Load() != 1 || reported.Load() != 1 {
		t.Errorf("progress called %d times, %d panics reported; want 1, 1", calls.Load(), reported.Load())
	}
}

// Join returns ctx's cause when it ends first; a later Join succeeds.
func TestJoinContext(t *testing.T) {
	p := newPool(t, 1)
	release := make(chan struct{})
	block := executor.Fn(func(_ context.Context, x int) (int, error) { <-release; return x, nil })
	f, err := pool.ApplyAsync(context.Background(), p, block, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Join(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Join = %v, want context.Canceled", err)
	}
	close(release)
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(context.Background()); v != 1 || err != nil {
		t.Errorf("Result = %v, %v", v, err)
	}
}

// A Pool over an executor it does not own leaves the executor running.
func TestNotOwnedExecutorSurvivesJoin(t *testing.T) {
	ctx := context.Background()
	ex, p := newNotOwned(t, 2)
	if p.Executor() != ex || p.Workers() != 2 {
		t.Errorf("Executor/Workers = %v, %d", p.Executor(), p.Workers())
	}
	if _, err := pool.Map(ctx, p, square, ints(5)); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := executor.Call(ctx, ex, square, 4)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Result(ctx); v != 16 {
		t.Errorf("executor after Join: %v", v)
	}
	// A second pool over the same executor works.
	p2, err := pool.New(ex)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := pool.Map(ctx, p2, square, []int{3}); err != nil || !slices.Equal(v, []int{9}) {
		t.Errorf("second pool: %v, %v", v, err)
	}
}

// Map called after Terminate, and Map running during Terminate, fail.
func TestMapDuringTerminate(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 1)
	started := make(chan struct{})
	block := executor.Fn(func(ctx context.Context, x int) (int, error) {
		if x == 0 {
			close(started)
		}
		<-ctx.Done()
		return 0, ctx.Err()
	})
	errc := make(chan error)
	go func() {
		_, err := pool.Map(ctx, p, block, ints(4), pool.WithChunkSize(1))
		errc <- err
	}()
	<-started
	if err := p.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, pool.ErrTerminated) {
		t.Errorf("Map = %v, want ErrTerminated", err)
	}
	if _, err := pool.Map(ctx, p, block, ints(4)); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Map after Terminate = %v, want ErrClosed", err)
	}
}

// A chunk size far larger than the input costs nothing.
func TestHugeChunkSize(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 2)
	huge := pool.WithChunkSize(int(^uint(0) >> 1)) // math.MaxInt
	if got, err := pool.Map(ctx, p, square, []int{1, 2, 3}, huge); err != nil || !slices.Equal(got, []int{1, 4, 9}) {
		t.Errorf("Map = %v, %v", got, err)
	}
	for _, im := range imaps {
		vs, errs := collect(t, im.imap(ctx, p, square, slices.Values([]int{1, 2, 3}), huge))
		if !slices.Equal(vs, []int{1, 4, 9}) || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
			t.Errorf("%s = %v, %v", im.name, vs, errs)
		}
	}
}
