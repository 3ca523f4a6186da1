package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/pool"
)

func TestMapChunkSizes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		n          int
		opts       []pool.CallOption
		wantChunks int64
	}{
		{"empty", 0, nil, 0},
		{"empty chunk 7", 0, []pool.CallOption{pool.WithChunkSize(7)}, 0},
		{"default", 100, nil, 12}, // ceil(100 / (4*3)) = 9 items a chunk
		{"chunk 1", 50, []pool.CallOption{pool.WithChunkSize(1)}, 50},
		{"chunk 7", 50, []pool.CallOption{pool.WithChunkSize(7)}, 8},
		{"chunk larger than input", 50, []pool.CallOption{pool.WithChunkSize(1000)}, 1},
		{"one item", 1, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newCounting(t, 3)
			got, err := pool.Map(ctx, p, square, ints(tc.n), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int, tc.n)
			for i := range want {
				want[i] = i * i
			}
			if !slices.Equal(got, want) || got == nil {
				t.Fatalf("Map = %v, want %v", got, want)
			}
			if n := c.n.Load(); n != tc.wantChunks {
				t.Errorf("scheduled %d tasks, want %d", n, tc.wantChunks)
			}
		})
	}
}

func TestMapChunkSizeInvalid(t *testing.T) {
	p := newPool(t, 2)
	for _, n := range []int{0, -1} {
		if _, err := pool.Map(context.Background(), p, square, ints(3), pool.WithChunkSize(n)); err == nil {
			t.Errorf("chunk size %d: no error", n)
		}
		if _, err := pool.MapAsync(context.Background(), p, square, ints(3), pool.WithChunkSize(n)); err == nil {
			t.Errorf("MapAsync chunk size %d: no error", n)
		}
	}
}

// Map has no fail-fast: every item runs, and the error is that of the
// failed item with the lowest index.
func TestMapNoFailFastFirstError(t *testing.T) {
	p := newPool(t, 3)
	errBad := errors.New("bad")
	var ran atomic.Int64
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		ran.Add(1)
		if x%10 == 3 {
			return 0, fmt.Errorf("item %d: %w", x, errBad)
		}
		return x, nil
	})
	for _, cs := range []int{1, 7, 1000} {
		ran.Store(0)
		got, err := pool.Map(context.Background(), p, fn, ints(100), pool.WithChunkSize(cs))
		if got != nil {
			t.Errorf("cs=%d: results %v with an error", cs, got)
		}
		var ie *pool.ItemError
		if !errors.As(err, &ie) || ie.Index != 3 || !errors.Is(err, errBad) {
			t.Errorf("cs=%d: err = %v, want item 3 wrapping errBad", cs, err)
		}
		if n := ran.Load(); n != 100 {
			t.Errorf("cs=%d: ran %d items, want all 100", cs, n)
		}
	}
}

func TestMapAsyncCallbacks(t *testing.T) {
	p := newPool(t, 2)
	ctx := context.Background()
	var got []int
	f, err := pool.MapAsync(ctx, p, square, ints(10), pool.WithCallback(func(r []int) { got = r }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The callback ran before the result was ready.
	if !slices.Equal(got, res) || len(res) != 10 {
		t.Errorf("callback got %v, result %v", got, res)
	}
	if ok, err := f.Successful(); !ok || err != nil {
		t.Errorf("Successful = %v, %v", ok, err)
	}

	var cbErr error
	boom := errors.New("boom")
	fail := executor.Fn(func(_ context.Context, x int) (int, error) { return 0, boom })
	f, err = pool.MapAsync(ctx, p, fail, ints(5), pool.WithErrorCallback(func(err error) { cbErr = err }))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Err(ctx); !errors.Is(err, boom) || !errors.Is(cbErr, boom) {
		t.Errorf("Err = %v, error callback got %v", err, cbErr)
	}
	if ok, err := f.Successful(); ok || err != nil {
		t.Errorf("Successful = %v, %v; want false, nil", ok, err)
	}

	if _, err := pool.MapAsync(ctx, p, square, ints(3), pool.WithCallback(func(int) {})); err == nil {
		t.Error("WithCallback of the wrong type: no error")
	}
}

// A panicking callback fails the result with a CallbackPanicError; the pool
// stays usable.
func TestMapAsyncCallbackPanic(t *testing.T) {
	var reported atomic.Int64
	p := newPool(t, 2, pool.WithCallbackPanicHandler(func(*future.CallbackPanicError) { reported.Add(1) }))
	ctx := context.Background()
	f, err := pool.MapAsync(ctx, p, square, ints(4), pool.WithCallback(func([]int) { panic("oops") }))
	if err != nil {
		t.Fatal(err)
	}
	var pe *future.CallbackPanicError
	if err := f.Err(ctx); !errors.As(err, &pe) || pe.Value != "oops" {
		t.Fatalf("Err = %v, want a CallbackPanicError", err)
	}
	if reported.Load() != 1 {
		t.Errorf("handler called %d times", reported.Load())
	}
	boom := errors.New("boom")
	fail := executor.Fn(func(_ context.Context, x int) (int, error) { return 0, boom })
	f, err = pool.MapAsync(ctx, p, fail, ints(4), pool.WithErrorCallback(func(error) { panic("again") }))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Err(ctx); !errors.As(err, &pe) || !errors.Is(err, boom) {
		t.Fatalf("Err = %v, want boom and a CallbackPanicError", err)
	}
	if got, err := pool.Map(ctx, p, square, ints(3)); err != nil || !slices.Equal(got, []int{0, 1, 4}) {
		t.Errorf("pool unusable after callback panics: %v, %v", got, err)
	}
}

func TestMapProgress(t *testing.T) {
	p := newPool(t, 3)
	var mu sync.Mutex
	var calls [][2]int
	_, err := pool.Map(context.Background(), p, square, ints(100), pool.WithChunkSize(7),
		pool.WithProgress(func(done, total int) {
			mu.Lock()
			calls = append(calls, [2]int{done, total})
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 15 { // ceil(100/7)
		t.Fatalf("%d progress reports, want 15: %v", len(calls), calls)
	}
	prev := 0
	for _, c := range calls {
		if c[1] != 100 || c[0] <= prev {
			t.Fatalf("bad progress sequence %v", calls)
		}
		prev = c[0]
	}
	if prev != 100 {
		t.Errorf("last report done=%d, want 100", prev)
	}
}

// When ctx ends, Map returns its cause and the chunks not started are cancelled.
func TestMapContextCancelled(t *testing.T) {
	p := newPool(t, 1)
	ctx, cancel := context.WithCancelCause(context.Background())
	g := newGate()
	fn, started, release, ran := g.fn, g.started, g.release, &g.ran
	f, err := pool.MapAsync(ctx, p, fn, ints(10), pool.WithChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	stop := errors.New("stop")
	cancel(stop)
	if err := f.Err(context.Background()); !errors.Is(err, stop) {
		t.Errorf("Err = %v, want the ctx cause", err)
	}
	close(release)
	p.Close()
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("%d items ran, want only the one that had started", n)
	}
}

// Cancelling the future of MapAsync cancels the chunks not started.
func TestMapAsyncCancel(t *testing.T) {
	p := newPool(t, 1)
	g := newGate()
	fn, started, release, ran := g.fn, g.started, g.release, &g.ran
	f, err := pool.MapAsync(context.Background(), p, fn, ints(10), pool.WithChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if !f.Cancel() {
		t.Fatal("Cancel = false")
	}
	close(release)
	p.Close()
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("%d items ran after Cancel, want 1", n)
	}
}
