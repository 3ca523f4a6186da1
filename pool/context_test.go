package pool_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

type ctxKey struct{}

var errItem = errors.New("item failed")

// call runs fn over items with one of the pool's calls and returns every
// result and error it reported (a Map's error is its only error).
type call struct {
	name string
	run  func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error)
}

func seqErr(items []int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for _, x := range items {
			if !yield(x, nil) {
				return
			}
		}
	}
}

func collectAll(seq iter.Seq2[int, error]) ([]int, []error) {
	var vs []int
	var errs []error
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vs = append(vs, v)
	}
	return vs, errs
}

func one(vs []int, err error) ([]int, []error) {
	if err != nil {
		return vs, []error{err}
	}
	return vs, nil
}

// calls are the calls that run many items.
var calls = []call{
	{"Map", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		return one(pool.Map(ctx, p, fn, items, opts...))
	}},
	{"MapAsync", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		f, err := pool.MapAsync(ctx, p, fn, items, opts...)
		if err != nil {
			return nil, []error{err}
		}
		return one(f.Result(context.Background()))
	}},
	{"Starmap", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		args := make([]pool.Args2[int, int], len(items))
		for i, x := range items {
			args[i] = pool.Args2[int, int]{V1: x}
		}
		star := pool.Star2(func(ctx context.Context, a, _ int) (int, error) { return fn.Call(ctx, a) })
		return one(pool.Starmap(ctx, p, star, args, opts...))
	}},
	{"Imap", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		return collectAll(pool.Imap(ctx, p, fn, slices.Values(items), opts...))
	}},
	{"ImapFallible", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		return collectAll(pool.ImapFallible(ctx, p, fn, seqErr(items), opts...))
	}},
	{"ImapUnordered", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		return collectAll(pool.ImapUnordered(ctx, p, fn, slices.Values(items), opts...))
	}},
	{"ImapUnorderedFallible", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		return collectAll(pool.ImapUnorderedFallible(ctx, p, fn, seqErr(items), opts...))
	}},
	{"Apply", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		var vs []int
		var errs []error
		for _, x := range items {
			v, err := pool.Apply(ctx, p, fn, x, opts...)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			vs = append(vs, v)
		}
		return vs, errs
	}},
	{"ApplyAsync", func(ctx context.Context, p *pool.Pool, fn executor.Func[int, int], items []int, opts ...pool.CallOption) ([]int, []error) {
		var vs []int
		var errs []error
		for _, x := range items {
			f, err := pool.ApplyAsync(ctx, p, fn, x, opts...)
			if err == nil {
				var v int
				if v, err = f.Result(context.Background()); err == nil {
					vs = append(vs, v)
					continue
				}
			}
			errs = append(errs, err)
		}
		return vs, errs
	}},
}

// TestItemsSeeCallCtx: every call runs its items with the call's ctx: a
// value set on it is visible in each item.
func TestItemsSeeCallCtx(t *testing.T) {
	p := newPool(t, 2)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, 100))
	defer cancel()
	fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
		v, ok := ctx.Value(ctxKey{}).(int)
		if !ok {
			return 0, errors.New("no value in the item's ctx")
		}
		return v + x, nil
	})
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			vs, errs := c.run(ctx, p, fn, ints(5), pool.WithChunkSize(2))
			slices.Sort(vs)
			if len(errs) > 0 || !slices.Equal(vs, []int{100, 101, 102, 103, 104}) {
				t.Fatalf("%v %v", vs, errs)
			}
		})
	}
}

// TestCallCtxEndReachesRunningItems: when the call's ctx ends, an item that
// is running sees ctx.Done() with the ctx's cause, items not started never
// run, and the call reports the cause.
func TestCallCtxEndReachesRunningItems(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			p := newPool(t, 1)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			stop := errors.New("stop")
			var ran atomic.Int64
			seen := make(chan error, 1)
			fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
				if ran.Add(1) == 1 {
					cancel(stop) // the first item ends the call's ctx, then waits for it
					<-ctx.Done()
					seen <- context.Cause(ctx)
					return 0, ctx.Err()
				}
				return x, nil
			})
			_, errs := c.run(ctx, p, fn, ints(5), pool.WithChunkSize(1))
			if got := <-seen; got != stop {
				t.Fatalf("the running item saw %v, want %v", got, stop)
			}
			if len(errs) == 0 || !errors.Is(errs[0], stop) {
				t.Fatalf("the call reported %v, want the cause", errs)
			}
			p.Close()
			if err := p.Join(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := ran.Load(); n != 1 {
				t.Fatalf("%d items ran, want only the first", n)
			}
		})
	}
}

// TestWithCancelOnError: with WithCancelOnError, the first item to fail
// (item 1, while item 0 runs) cancels the rest: item 0 sees ctx.Done() with
// item 1's *ItemError as the cause, items 2 to 9 (queued, chunk size 1, two
// workers) never run, and the call reports item 1's error, the first to
// happen, not item 0's (the lower index). Without the option every item runs.
func TestWithCancelOnError(t *testing.T) {
	for _, c := range calls {
		if c.name == "Apply" || c.name == "ApplyAsync" {
			continue // one item per call: nothing to cancel
		}
		t.Run(c.name, func(t *testing.T) {
			p := newPool(t, 2)
			var mu sync.Mutex
			var ran []int // every execution appends its item
			started0 := make(chan struct{})
			seen := make(chan error, 1)
			fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
				mu.Lock()
				ran = append(ran, x)
				mu.Unlock()
				switch x {
				case 0:
					close(started0)
					<-ctx.Done()
					seen <- context.Cause(ctx)
					return 0, ctx.Err()
				case 1:
					<-started0
					return 0, errItem
				}
				return x, nil
			})
			_, errs := c.run(context.Background(), p, fn, ints(10), pool.WithChunkSize(1), pool.WithCancelOnError())
			var ie *pool.ItemError
			if len(errs) != 1 || !errors.As(errs[0], &ie) || ie.Index != 1 || !errors.Is(errs[0], errItem) {
				t.Fatalf("errors %v, want one: item 1's", errs)
			}
			var cause *pool.ItemError
			if got := <-seen; !errors.As(got, &cause) || cause.Index != 1 {
				t.Fatalf("item 0 saw cause %v, want item 1's error", got)
			}
			p.Close()
			if err := p.Join(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(ran)
			if !slices.Equal(ran, []int{0, 1}) {
				t.Fatalf("items run %v, want only 0 and 1", ran)
			}
		})
	}
	t.Run("default runs every item", func(t *testing.T) {
		p := newPool(t, 2)
		var n atomic.Int64
		fn := executor.Fn(func(_ context.Context, x int) (int, error) {
			n.Add(1)
			if x == 1 || x == 3 {
				return 0, errItem
			}
			return x, nil
		})
		_, err := pool.Map(context.Background(), p, fn, ints(10), pool.WithChunkSize(1))
		var ie *pool.ItemError
		if !errors.As(err, &ie) || ie.Index != 1 {
			t.Fatalf("%v, want item 1's error", err)
		}
		if n.Load() != 10 {
			t.Fatalf("%d items ran, want 10", n.Load())
		}
	})
}

// TestWithCancelOnErrorInputError: with ImapFallible and WithCancelOnError, an
// error of the input cancels the items running and ends the loop with it.
func TestWithCancelOnErrorInputError(t *testing.T) {
	p := newPool(t, 2)
	started := make(chan struct{})
	seen := make(chan error, 1)
	fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
		close(started)
		<-ctx.Done()
		seen <- context.Cause(ctx)
		return 0, ctx.Err()
	})
	bad := errors.New("bad input")
	in := func(yield func(int, error) bool) {
		if !yield(0, nil) {
			return
		}
		<-started
		yield(0, bad)
	}
	_, errs := collectAll(pool.ImapFallible(context.Background(), p, fn, in, pool.WithCancelOnError()))
	var ie *pool.ItemError
	if len(errs) != 1 || !errors.As(errs[0], &ie) || !ie.Input || !errors.Is(errs[0], bad) {
		t.Fatalf("errors %v, want the input's", errs)
	}
	if got := <-seen; !errors.Is(got, bad) {
		t.Fatalf("the running item saw %v, want the input error", got)
	}
}

// TestImapBreakCancelsRunning: breaking out of an Imap loop cancels the ctx
// of the items running (item 1 here), not only the ones not started.
func TestImapBreakCancelsRunning(t *testing.T) {
	for _, unordered := range []bool{false, true} {
		name := "Imap"
		imap := pool.Imap[int, int]
		if unordered {
			name, imap = "ImapUnordered", pool.ImapUnordered[int, int]
		}
		t.Run(name, func(t *testing.T) {
			p := newPool(t, 2)
			started1 := make(chan struct{})
			seen := make(chan error, 1)
			var ran atomic.Int64
			fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
				ran.Add(1)
				if x == 0 {
					<-started1 // delivered once item 1 runs
					return 0, nil
				}
				close(started1)
				<-ctx.Done()
				seen <- context.Cause(ctx)
				return 0, ctx.Err()
			})
			for range imap(context.Background(), p, fn, slices.Values([]int{0, 1}), pool.WithChunksInFlight(2)) {
				break
			}
			if got := <-seen; !errors.Is(got, context.Canceled) {
				t.Fatalf("the running item saw %v, want context.Canceled", got)
			}
			p.Close()
			if err := p.Join(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := ran.Load(); n != 2 {
				t.Fatalf("%d items ran, want 2", n)
			}
		})
	}
}

// TestAsyncWithEndedCtx: MapAsync and ApplyAsync with a ctx that has
// ended return a future that fails with its cause (as when it ends during
// the call), and nothing runs.
func TestAsyncWithEndedCtx(t *testing.T) {
	p := newPool(t, 1)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop")
	cancel(stop)
	var ran atomic.Int64
	fn := executor.Fn(func(_ context.Context, x int) (int, error) { ran.Add(1); return x, nil })
	fm, err := pool.MapAsync(ctx, p, fn, ints(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := fm.Err(context.Background()); !errors.Is(err, stop) {
		t.Fatalf("MapAsync: %v, want %v", err, stop)
	}
	var called atomic.Bool
	fa, err := pool.ApplyAsync(ctx, p, fn, 1, pool.WithErrorCallback(func(error) { called.Store(true) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := fa.Err(context.Background()); !errors.Is(err, stop) {
		t.Fatalf("ApplyAsync: %v, want %v", err, stop)
	}
	if !called.Load() {
		t.Fatal("the error callback did not run")
	}
	p.Close()
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 0 {
		t.Fatal("an item ran")
	}
}
