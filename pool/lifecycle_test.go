package pool_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/pool"
)

func TestNewNilExecutor(t *testing.T) {
	if _, err := pool.New(nil); err == nil {
		t.Error("New(nil): no error")
	}
}

func TestUseAfterClose(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 2)
	if err := p.Join(ctx); !errors.Is(err, pool.ErrStillRunning) {
		t.Errorf("Join before Close = %v, want ErrStillRunning", err)
	}
	p.Close()
	p.Close() // idempotent
	if _, err := pool.Map(ctx, p, square, ints(3)); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Map after Close = %v", err)
	}
	if _, err := pool.Map(ctx, p, square, nil); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Map of nothing after Close = %v", err)
	}
	if _, err := pool.Apply(ctx, p, square, 3); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Apply after Close = %v", err)
	}
	_, errs := collect(t, pool.Imap(ctx, p, square, slices.Values(ints(3))))
	if len(errs) != 1 || !errors.Is(errs[0], pool.ErrClosed) {
		t.Errorf("Imap after Close yields %v", errs)
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
}

// Close lets outstanding work finish; Join waits for it and shuts the owned
// executor down.
func TestCloseOutstandingFinishes(t *testing.T) {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	slow := executor.Fn(func(_ context.Context, x int) (int, error) {
		<-release
		return x, nil
	})
	mf, err := pool.MapAsync(ctx, p, slow, ints(10), pool.WithChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	af, err := pool.ApplyAsync(ctx, p, slow, 5)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	joined := make(chan error)
	go func() { joined <- p.Join(ctx) }()
	select {
	case err := <-joined:
		t.Fatalf("Join returned %v with work outstanding", err)
	default:
	}
	close(release)
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	if v, err := mf.Result(ctx); err != nil || len(v) != 10 {
		t.Errorf("Map after Close: %v, %v", v, err)
	}
	if v, err := af.Result(ctx); err != nil || v != 5 {
		t.Errorf("Apply after Close: %v, %v", v, err)
	}
	if err := ex.Schedule(ctx, nil); !errors.Is(err, executor.ErrShutdown) {
		t.Errorf("owned executor not shut down: %v", err)
	}
}

// Terminate with work outstanding: every outstanding call fails with
// ErrTerminated, queued work never runs, running work of an owned executor
// sees its context cancelled.
func TestTerminateOutstanding(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 2)
	var ran atomic.Int64
	started := make(chan struct{}, 100)
	block := executor.Fn(func(ctx context.Context, x int) (int, error) {
		ran.Add(1)
		started <- struct{}{}
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})
	mf, err := pool.MapAsync(ctx, p, block, ints(20), pool.WithChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	af, err := pool.ApplyAsync(ctx, p, block, 1)
	if err != nil {
		t.Fatal(err)
	}
	var loopErr error
	loopDone := make(chan struct{})
	inLoop := make(chan struct{})
	go func() {
		defer close(loopDone)
		close(inLoop)
		for _, err := range pool.Imap(ctx, p, block, slices.Values(ints(20))) {
			if err != nil {
				loopErr = err
			}
		}
	}()
	<-inLoop
	<-started
	<-started
	if err := p.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mf.Err(ctx); !errors.Is(err, pool.ErrTerminated) {
		t.Errorf("MapAsync: %v", err)
	}
	if err := af.Err(ctx); !errors.Is(err, pool.ErrTerminated) {
		t.Errorf("ApplyAsync: %v", err)
	}
	<-loopDone
	if !errors.Is(loopErr, pool.ErrTerminated) && !errors.Is(loopErr, pool.ErrClosed) {
		t.Errorf("Imap: %v", loopErr)
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 2 {
		t.Errorf("%d calls ran, want the 2 running at Terminate", n)
	}
	if _, err := pool.Apply(ctx, p, square, 1); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Apply after Terminate = %v", err)
	}
	if err := p.Terminate(ctx); err != nil { // idempotent
		t.Error(err)
	}
}

// Terminate of a Pool that does not own its executor: the executor goes on
// and the pool's outstanding calls fail.
func TestTerminateNotOwned(t *testing.T) {
	ctx := context.Background()
	ex, p := newNotOwned(t, 1)
	g := newGate()
	fn, started, release, ran := g.fn, g.started, g.release, &g.ran
	var got []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, err := range pool.ImapUnordered(ctx, p, fn, slices.Values(ints(10))) {
			got = append(got, err)
		}
	}()
	<-started
	if err := p.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if len(got) != 1 || !errors.Is(got[0], pool.ErrTerminated) {
		t.Errorf("loop yielded %v, want one ErrTerminated", got)
	}
	close(release)
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("%d calls ran, want 1", n)
	}
	if v, err := executor.Call(ctx, ex, square, 3); err != nil {
		t.Error(err)
	} else if r, err := v.Result(ctx); r != 9 || err != nil {
		t.Errorf("executor after Terminate: %v %v", r, err)
	}
}

// An initializer that keeps failing (Python hangs): calls fail with ErrBroken.
func TestBrokenInitializer(t *testing.T) {
	ctx := context.Background()
	bad := errors.New("no database")
	ex, err := executor.NewGoPool(executor.WithWorkers(2),
		executor.WithInitializer(func(context.Context) error { return bad }))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Close()
		if err := p.Join(ctx); err != nil {
			t.Error(err)
		}
	}()
	if _, err := pool.Map(ctx, p, square, ints(10)); !errors.Is(err, executor.ErrBroken) || !errors.Is(err, bad) {
		t.Errorf("Map = %v, want ErrBroken", err)
	}
	if _, err := pool.Apply(ctx, p, square, 1); !errors.Is(err, executor.ErrBroken) {
		t.Errorf("Apply = %v, want ErrBroken", err)
	}
	var last error
	for _, err := range pool.Imap(ctx, p, square, slices.Values(ints(10))) {
		last = err
	}
	if !errors.Is(last, executor.ErrBroken) {
		t.Errorf("Imap ended with %v, want ErrBroken", last)
	}
}

// dying is an executor whose "worker" dies on every chunk that holds a
// negative argument: the task fails as a whole, as a process executor fails
// a task whose helper process died.
type dying struct {
	executor.Executor
}

var errDied = errors.New("worker 1234 died: signal: killed")

type diedErr struct{}

func (diedErr) Error() string        { return errDied.Error() }
func (diedErr) Is(target error) bool { return target == executor.ErrWorkerDied || target == errDied }

func (d dying) Schedule(ctx context.Context, t driver.Task) error {
	if r := t.Remote(); r != nil {
		if args, ok := r.Args().([]int); ok && slices.ContainsFunc(args, func(x int) bool { return x < 0 }) {
			if t.Start() {
				t.Fail(diedErr{})
			}
			return nil
		}
	}
	return d.Executor.Schedule(ctx, t)
}

type namedSquare struct{}

func (namedSquare) Call(_ context.Context, x int) (int, error) { return x * x, nil }
func (namedSquare) FuncName() string                           { return "square" }

// A worker that dies fails the items of its chunk; the rest goes on.
func TestWorkerDied(t *testing.T) {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(dying{ex}, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Close()
		if err := p.Join(ctx); err != nil {
			t.Error(err)
		}
	}()
	in := []int{0, 1, 2, -3, 4, 5, 6, 7}
	i := 0
	for v, err := range pool.Imap(ctx, p, executor.Func[int, int](namedSquare{}), slices.Values(in), pool.WithChunkSize(3)) {
		if 3 <= i && i <= 5 { // the chunk {-3, 4, 5}
			var ie *pool.ItemError
			if !errors.Is(err, executor.ErrWorkerDied) || !errors.As(err, &ie) || ie.Index != i {
				t.Errorf("item %d: %v, want ErrWorkerDied", i, err)
			}
		} else if err != nil || v != in[i]*in[i] {
			t.Errorf("item %d: %v, %v", i, v, err)
		}
		i++
	}
	if _, err := pool.Map(ctx, p, executor.Func[int, int](namedSquare{}), in); !errors.Is(err, executor.ErrWorkerDied) {
		t.Errorf("Map = %v", err)
	}
	if v, err := pool.Map(ctx, p, executor.Func[int, int](namedSquare{}), ints(5)); err != nil || len(v) != 5 {
		t.Errorf("pool unusable after a worker died: %v, %v", v, err)
	}
}
