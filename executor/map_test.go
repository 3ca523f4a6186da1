package executor_test

import (
	"context"
	"errors"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
)

// counting returns an endless input that counts what was read.
func counting(read *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; ; i++ {
			read.Add(1)
			if !yield(i) {
				return
			}
		}
	}
}

func upTo(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

var square = executor.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })

func TestMapOrdered(t *testing.T) {
	p := newPool(t, executor.WithWorkers(4))
	// Later items finish first: the order must still be the input's.
	slowFirst := executor.Fn(func(_ context.Context, x int) (int, error) {
		if x < 4 {
			time.Sleep(time.Duration(4-x) * time.Millisecond) // makes completion order differ from input order
		}
		return x, nil
	})
	i := 0
	for v, err := range executor.Map(context.Background(), p, slowFirst, upTo(100)) {
		if err != nil || v != i {
			t.Fatalf("item %d: %v %v", i, v, err)
		}
		i++
	}
	if i != 100 {
		t.Fatal(i)
	}
}

func TestMapErrorsAtPosition(t *testing.T) {
	p := newPool(t, executor.WithWorkers(2))
	odd := executor.Fn(func(_ context.Context, x int) (int, error) {
		if x%2 == 1 {
			return 0, errBoom
		}
		return x, nil
	})
	n := 0
	for v, err := range executor.Map(context.Background(), p, odd, upTo(10)) {
		if (n%2 == 1) != errors.Is(err, errBoom) || (err == nil && v != n) {
			t.Fatalf("item %d: %v %v", n, v, err)
		}
		n++
	}
	if n != 10 {
		t.Fatal("iteration must continue after an item's error", n)
	}
}

func TestMapBoundedReadAheadAndBreak(t *testing.T) {
	p := newPool(t, executor.WithWorkers(2))
	var read atomic.Int64
	const ahead = 5
	var ran atomic.Int64
	fn := executor.Fn(func(_ context.Context, x int) (int, error) { ran.Add(1); return x, nil })
	got := 0
	for _, err := range executor.Map(context.Background(), p, fn, counting(&read), executor.WithBufferSize(ahead)) {
		if err != nil {
			t.Fatal(err)
		}
		got++
		if r := read.Load(); r > int64(got+ahead) {
			t.Fatalf("read %d items with %d consumed: read-ahead not bounded", r, got)
		}
		if got == 1000 {
			break
		}
	}
	// After break nothing more is read and nothing keeps running.
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := read.Load(); r > 1000+ahead {
		t.Fatalf("read %d", r)
	}
	if n := ran.Load(); n > 1000+ahead {
		t.Fatalf("ran %d", n)
	}
}

func TestMapBreakCancelsNotStarted(t *testing.T) {
	p := newPool(t, executor.WithWorkers(1))
	release := make(chan struct{})
	var ran atomic.Int64
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		ran.Add(1)
		if x == 0 {
			return 0, nil
		}
		<-release
		return x, nil
	})
	for range executor.Map(context.Background(), p, fn, upTo(10), executor.WithBufferSize(10)) {
		break // items 1..9 are scheduled; 1 may be running; the rest are cancelled
	}
	close(release)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n > 2 {
		t.Fatalf("%d tasks ran; the not-started ones must be cancelled", n)
	}
}

func TestMapContextEnds(t *testing.T) {
	p := newPool(t, executor.WithWorkers(1))
	release := make(chan struct{})
	defer close(release)
	block := executor.Fn(func(_ context.Context, x int) (int, error) { <-release; return x, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	var last error
	n := 0
	for _, err := range executor.Map(ctx, p, block, upTo(3)) {
		last = err
		n++
	}
	if n != 1 || !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("%d items, last error %v", n, last)
	}
}

func TestMapRefused(t *testing.T) {
	p, err := executor.NewGoPool()
	if err != nil {
		t.Fatal(err)
	}
	p.Shutdown(context.Background())
	for _, err := range executor.Map(context.Background(), p, square, upTo(3)) {
		if !errors.Is(err, executor.ErrShutdown) {
			t.Fatal(err)
		}
	}
	q := newPool(t)
	for _, err := range executor.Map(context.Background(), q, square, upTo(3), executor.WithBufferSize(0)) {
		if err == nil {
			t.Fatal("read-ahead 0 must be an error")
		}
	}
}

// cancelOnSchedule is an Executor that schedules on another one and, right
// after the n-th task, cancels a context: Map then waits with a ctx that has
// ended.
type cancelOnSchedule struct {
	executor.Executor
	n      int
	cancel context.CancelFunc
}

func (c *cancelOnSchedule) Schedule(ctx context.Context, t driver.Task) error {
	err := c.Executor.Schedule(ctx, t)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return err
}

// doneSignal is a Context that closes asked when its Done channel is first
// asked for once armed: Map asks when it starts waiting on a call (and
// before, when it derives the calls' context).
type doneSignal struct {
	context.Context
	armed atomic.Bool
	once  sync.Once
	asked chan struct{}
}

func (c *doneSignal) Done() <-chan struct{} {
	if c.armed.Load() {
		c.once.Do(func() { close(c.asked) })
	}
	return c.Context.Done()
}

// TestMapContextEndsCancelsCalls: when ctx ends while Map waits on a call
// that has not started, that call is cancelled as well as every other one
// scheduled and not started: none of them ever runs, which the function's
// side effects prove. ctx ends either just before Map waits or while it
// waits.
func TestMapContextEndsCancelsCalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, cancel context.CancelFunc, ex executor.Executor, fn executor.Func[int, int]) []error
	}{
		{"before the wait", func(ctx context.Context, cancel context.CancelFunc, ex executor.Executor, fn executor.Func[int, int]) []error {
			var errs []error
			// Cancelled after the third call is scheduled, when Map (read-ahead 3) is about to wait on the first.
			for _, err := range executor.Map(ctx, &cancelOnSchedule{ex, 3, cancel}, fn, upTo(10), executor.WithBufferSize(3)) {
				errs = append(errs, err)
			}
			return errs
		}},
		{"during the wait", func(ctx context.Context, cancel context.CancelFunc, ex executor.Executor, fn executor.Func[int, int]) []error {
			sig := &doneSignal{Context: ctx, asked: make(chan struct{})}
			res := make(chan []error)
			// Armed once the third call is scheduled: the next Done is Map's wait.
			arm := &cancelOnSchedule{ex, 3, func() { sig.armed.Store(true) }}
			go func() {
				var errs []error
				for _, err := range executor.Map(sig, arm, fn, upTo(10), executor.WithBufferSize(3)) {
					errs = append(errs, err)
				}
				res <- errs
			}()
			<-sig.asked
			cancel()
			return <-res
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, executor.WithWorkers(1))
			started, release := make(chan struct{}, 1), make(chan struct{})
			submit(t, p, blocker(started, release)) // holds the only worker: Map's calls wait in the queue
			<-started
			var mu sync.Mutex
			var ran []int
			fn := executor.Fn(func(_ context.Context, x int) (int, error) {
				mu.Lock()
				ran = append(ran, x)
				mu.Unlock()
				return x, nil
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errs := tc.run(ctx, cancel, p, fn)
			if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
				t.Fatalf("Map yielded %v, want one context.Canceled", errs)
			}
			close(release)
			if err := p.Shutdown(context.Background()); err != nil { // every task has ended
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(ran) != 0 {
				t.Fatalf("calls %v ran after Map's ctx ended; they must have been cancelled", ran)
			}
		})
	}
}
