package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/pool"
)

// inflight is an executor that counts the tasks scheduled on it and not yet
// finished, and the most there ever were. A task counts as finished when its
// Run has returned, or when the executor skipped it (Start false) or failed
// it (Fail): so a chunk counts a little longer than Map counts it, which
// frees its place in the window when the chunk's future completes, inside
// Run. The count can thus exceed Map's own by at most the number of workers
// (each between completing its chunk and returning from Run).
type inflight struct {
	executor.Executor
	cur, max, total atomic.Int64
}

func (c *inflight) Schedule(ctx context.Context, t driver.Task) error {
	n := c.cur.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	if err := c.Executor.Schedule(ctx, &trackedTask{Task: t, c: c}); err != nil {
		c.cur.Add(-1)
		return err
	}
	c.total.Add(1)
	return nil
}

type trackedTask struct {
	driver.Task
	c    *inflight
	done atomic.Bool
}

func (t *trackedTask) finished() {
	if t.done.CompareAndSwap(false, true) {
		t.c.cur.Add(-1)
	}
}

func (t *trackedTask) Start() bool {
	ok := t.Task.Start()
	if !ok {
		t.finished()
	}
	return ok
}

func (t *trackedTask) Run(ctx context.Context) error {
	defer t.finished()
	return t.Task.Run(ctx)
}

func (t *trackedTask) Fail(err error) bool {
	defer t.finished()
	return t.Task.Fail(err)
}

// newInflight returns a GoPool of n workers (plus opts) behind an inflight
// counter, both shut down at the end of the test, and a Pool over them that
// does not own them.
func newInflight(t *testing.T, n int, opts ...executor.Option) (*pool.Pool, *inflight) {
	t.Helper()
	ex, err := executor.NewGoPool(append([]executor.Option{executor.WithWorkers(n)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ex.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	c := &inflight{Executor: ex}
	p, err := pool.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// mapCalls are the windowed calls, each returning the results or the error.
var mapCalls = []struct {
	name  string
	async bool
	run   func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, error)
}{
	{"Map", false, pool.Map[int, int]},
	{"MapAsync", true, func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, error) {
		f, err := pool.MapAsync(ctx, p, fn, items, opts...)
		if err != nil {
			return nil, err
		}
		return f.Result(context.Background())
	}},
	{"Starmap", false, func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, error) {
		args := make([]pool.Args2[int, int], len(items))
		for i, x := range items {
			args[i] = pool.Args2[int, int]{V1: x}
		}
		star := pool.Star2(func(ctx context.Context, a, _ int) (int, error) { return fn.Call(ctx, a) })
		return pool.Starmap(ctx, p, star, args, opts...)
	}},
}

// TestMapWindowBound: over many more chunks than the window, Map, MapAsync
// and Starmap never have more than the window of chunks scheduled and not
// done (give or take the workers, see inflight), schedule every chunk once,
// and return every result in order; WithProgress reports them all.
func TestMapWindowBound(t *testing.T) {
	const workers = 2
	for _, call := range mapCalls {
		for _, tc := range []struct {
			name   string
			n      int
			chunk  int
			window int // 0: the default, 16 × workers
		}{
			{"chunk 1 window 8", 3000, 1, 8},
			{"chunk 7 window 5", 3000, 7, 5}, // ends with a partial chunk
			{"chunk 1 window 1", 500, 1, 1},
			{"chunk 1 default window", 3000, 1, 0},
		} {
			t.Run(call.name+"/"+tc.name, func(t *testing.T) {
				p, c := newInflight(t, workers)
				opts := []pool.CallOption{pool.WithChunkSize(tc.chunk)}
				window := 16 * workers
				if tc.window > 0 {
					window = tc.window
					opts = append(opts, pool.WithChunksInFlight(tc.window))
				}
				var last atomic.Int64
				opts = append(opts, pool.WithProgress(func(done, _ int) { last.Store(int64(done)) }))
				got, err := call.run(context.Background(), p, square, ints(tc.n), opts...)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got {
					if v != i*i {
						t.Fatalf("result %d = %d, want %d", i, v, i*i)
					}
				}
				if len(got) != tc.n {
					t.Fatalf("%d results, want %d", len(got), tc.n)
				}
				nchunks := int64((tc.n + tc.chunk - 1) / tc.chunk)
				if n := c.total.Load(); n != nchunks {
					t.Errorf("scheduled %d chunks, want %d", n, nchunks)
				}
				if m := c.max.Load(); m > int64(window+workers) {
					t.Errorf("%d chunks in flight at most, want <= window %d (+%d workers)", m, window, workers)
				}
				if n := last.Load(); n != int64(tc.n) {
					t.Errorf("last progress report %d, want %d", n, tc.n)
				}
			})
		}
	}
}

// TestMapAsyncWindowReturnsAtOnce: MapAsync returns while the window is
// full and no chunk can return (the items wait for release, given only
// after MapAsync has returned), and the chunks beyond the window are
// scheduled as it frees up.
func TestMapAsyncWindowReturnsAtOnce(t *testing.T) {
	p, c := newInflight(t, 1)
	release := make(chan struct{})
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		<-release
		return x, nil
	})
	f, err := pool.MapAsync(context.Background(), p, fn, ints(100), pool.WithChunkSize(1), pool.WithChunksInFlight(4))
	if err != nil {
		t.Fatal(err)
	}
	if n := c.total.Load(); n != 4 {
		t.Errorf("MapAsync returned with %d chunks scheduled, want the window, 4", n)
	}
	close(release)
	got, err := f.Result(context.Background())
	if err != nil || !slices.Equal(got, ints(100)) {
		t.Fatalf("Result = %v, %v", got, err)
	}
	if n := c.total.Load(); n != 100 {
		t.Errorf("scheduled %d chunks, want 100", n)
	}
}

// TestMapWindowStops: once a call is stopped (its ctx ends, its future is
// cancelled, an item fails with WithCancelOnError, Terminate), it schedules
// no more chunks, and no chunk starts after it has returned its error. One
// worker runs the items in order; item stopAt, reached after many refills
// of the window, starts, and then the call is stopped.
func TestMapWindowStops(t *testing.T) {
	const (
		n      = 10_000
		window = 8
		stopAt = 100
	)
	stop := errors.New("stop")
	type stopper func(t *testing.T, p *pool.Pool, cancel context.CancelCauseFunc, f *future.Future[[]int])
	cases := []struct {
		name    string
		fail    bool // item stopAt fails, with WithCancelOnError; no stopper
		stop    stopper
		asyncOK bool // only for MapAsync (its future)
		want    func(error) bool
	}{
		{"ctx ends", false, func(t *testing.T, _ *pool.Pool, cancel context.CancelCauseFunc, _ *future.Future[[]int]) {
			cancel(stop)
		}, false, func(err error) bool { return errors.Is(err, stop) }},
		{"future cancelled", false, func(t *testing.T, _ *pool.Pool, _ context.CancelCauseFunc, f *future.Future[[]int]) {
			if !f.Cancel() {
				t.Error("Cancel = false")
			}
		}, true, func(err error) bool { return errors.Is(err, future.ErrCancelled) }},
		{"item fails", true, nil, false, func(err error) bool {
			var ie *pool.ItemError
			return errors.As(err, &ie) && ie.Index == stopAt && errors.Is(err, errItem)
		}},
		{"Terminate", false, func(t *testing.T, p *pool.Pool, _ context.CancelCauseFunc, _ *future.Future[[]int]) {
			if err := p.Terminate(context.Background()); err != nil {
				t.Error(err)
			}
		}, false, func(err error) bool { return errors.Is(err, pool.ErrTerminated) }},
	}
	for _, async := range []bool{false, true} {
		for _, tc := range cases {
			if tc.asyncOK && !async {
				continue
			}
			name := "Map/" + tc.name
			if async {
				name = "MapAsync/" + tc.name
			}
			t.Run(name, func(t *testing.T) {
				p, c := newInflight(t, 1)
				var started atomic.Int64
				reached := make(chan struct{})
				release := make(chan struct{})
				fn := executor.Fn(func(_ context.Context, x int) (int, error) {
					started.Add(1)
					if x == stopAt {
						close(reached)
						if tc.fail {
							return 0, errItem
						}
						<-release
					}
					return x, nil
				})
				opts := []pool.CallOption{pool.WithChunkSize(1), pool.WithChunksInFlight(window)}
				if tc.fail {
					opts = append(opts, pool.WithCancelOnError())
				}
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				var err error
				if async {
					f, serr := pool.MapAsync(ctx, p, fn, ints(n), opts...)
					if serr != nil {
						t.Fatal(serr)
					}
					<-reached
					if tc.stop != nil {
						tc.stop(t, p, cancel, f)
					}
					err = f.Err(context.Background())
				} else {
					done := make(chan error, 1)
					go func() {
						_, err := pool.Map(ctx, p, fn, ints(n), opts...)
						done <- err
					}()
					<-reached
					if tc.stop != nil {
						tc.stop(t, p, cancel, nil)
					}
					err = <-done
				}
				if !tc.want(err) {
					t.Fatalf("the call returned %v", err)
				}
				startedAtReturn, scheduledAtReturn := started.Load(), c.total.Load()
				close(release)
				// Every job ends, then the executor has run or skipped every task.
				p.Close()
				if err := p.Join(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := c.Executor.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				if s := started.Load(); s != startedAtReturn || s != stopAt+1 {
					t.Errorf("%d items started, %d when the call returned; want %d", s, startedAtReturn, stopAt+1)
				}
				scheduled := c.total.Load()
				// Map returns once it has stopped scheduling; MapAsync's
				// goroutine may have had one chunk on its way to the executor
				// (which then never starts: see above).
				if extra := scheduled - scheduledAtReturn; extra != 0 && !(async && extra == 1) {
					t.Errorf("%d chunks scheduled after the call returned", extra)
				}
				// When item stopAt started, items stopAt to stopAt+window-1 at
				// most were in flight.
				if scheduled > stopAt+window+1 {
					t.Errorf("%d chunks scheduled of %d, want at most %d", scheduled, n, stopAt+window+1)
				}
			})
		}
	}
}

// TestMapWindowBoundedQueue: on an executor whose bounded queue blocks
// Schedule, the window's feeding (in the caller, or MapAsync's goroutine)
// waits for room; the workers, which give the window back, never wait for
// it, so nothing deadlocks, even when two calls share the executor.
func TestMapWindowBoundedQueue(t *testing.T) {
	p, c := newInflight(t, 2, executor.WithQueueLimit(1))
	ctx := context.Background()
	const n = 2000
	f, err := pool.MapAsync(ctx, p, square, ints(n), pool.WithChunkSize(1), pool.WithChunksInFlight(64))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pool.Map(ctx, p, square, ints(n), pool.WithChunkSize(1), pool.WithChunksInFlight(64))
	if err != nil || len(got) != n || got[n-1] != (n-1)*(n-1) {
		t.Fatalf("Map: %d results, %v", len(got), err)
	}
	got, err = f.Result(ctx)
	if err != nil || len(got) != n || got[n-1] != (n-1)*(n-1) {
		t.Fatalf("MapAsync: %d results, %v", len(got), err)
	}
	if s := c.total.Load(); s != 2*n {
		t.Errorf("scheduled %d chunks, want %d", s, 2*n)
	}
}

// TestMapWindowRefusedMidway: when the executor refuses a chunk beyond the
// first window, the call fails with its error, every chunk it had accepted
// runs, and no more are scheduled.
func TestMapWindowRefusedMidway(t *testing.T) {
	for _, call := range mapCalls {
		t.Run(call.name, func(t *testing.T) {
			ex, err := executor.NewGoPool(executor.WithWorkers(2))
			if err != nil {
				t.Fatal(err)
			}
			r := &refusing{Executor: ex, limit: 50}
			p, err := pool.New(r, pool.OwnExecutor())
			if err != nil {
				t.Fatal(err)
			}
			var ran atomic.Int64
			fn := executor.Fn(func(_ context.Context, x int) (int, error) { ran.Add(1); return x, nil })
			_, err = call.run(context.Background(), p, fn, ints(1000), pool.WithChunkSize(1), pool.WithChunksInFlight(8))
			var ie *pool.ItemError
			if !errors.Is(err, executor.ErrShutdown) || !errors.As(err, &ie) || ie.Index != 50 {
				t.Errorf("err = %v, want item 50's scheduling error, ErrShutdown", err)
			}
			p.Close()
			if err := p.Join(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := ran.Load(); n != 50 {
				t.Errorf("%d items ran, want the 50 accepted", n)
			}
			if n := r.n.Load(); n != 51 {
				t.Errorf("%d chunks offered to the executor, want 51", n)
			}
		})
	}
}

// TestMapWindowRetry: with a retry policy, the chunks of a windowed Map
// are retried (an attempt scheduled again takes no more room in the
// window) and the executor's hooks see the retries.
func TestMapWindowRetry(t *testing.T) {
	var retried atomic.Int64
	ex, err := executor.NewGoPool(executor.WithWorkers(2),
		executor.WithHooks(&executor.Hooks{Retried: func(time.Duration) { retried.Add(1) }}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Close()
		if err := p.Join(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	fn, _ := flakyEvery(10)
	retry := executor.NewRetry(3, executor.RetryBackoff(time.Microsecond, time.Microsecond))
	got, err := pool.Map(context.Background(), p, fn, ints(200), pool.WithChunkSize(1), pool.WithChunksInFlight(4), pool.WithTaskOptions(retry))
	if err != nil || !slices.Equal(got, ints(200)) {
		t.Fatal(got, err)
	}
	if n := retried.Load(); n != 2*20 {
		t.Errorf("the hooks saw %d retries, want 40", n)
	}
}

// TestMapReadAheadInvalid: a window < 1 is an error, and nothing runs.
func TestMapReadAheadInvalid(t *testing.T) {
	p, c := newInflight(t, 1)
	for _, n := range []int{0, -1} {
		for _, call := range mapCalls {
			if _, err := call.run(context.Background(), p, square, ints(3), pool.WithChunksInFlight(n)); err == nil {
				t.Errorf("%s read-ahead %d: no error", call.name, n)
			}
		}
	}
	if n := c.total.Load(); n != 0 {
		t.Errorf("%d chunks scheduled", n)
	}
}

// ExampleMap_window: a Map over many chunks keeps only a window of them in
// flight.
func ExampleMap_window() {
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		panic(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		panic(err)
	}
	defer func() { p.Close(); _ = p.Join(context.Background()) }()
	items := make([]int, 100_000)
	for i := range items {
		items[i] = i
	}
	// 100,000 chunks, at most 64 of them scheduled and not returned.
	res, err := pool.Map(context.Background(), p, square, items, pool.WithChunkSize(1), pool.WithChunksInFlight(64))
	fmt.Println(len(res), res[99_999], err)
	// Output: 100000 9999800001 <nil>
}
