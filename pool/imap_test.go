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

type imapFunc func(context.Context, *pool.Pool, executor.Func[int, int], iter.Seq[int], ...pool.CallOption) iter.Seq2[int, error]

var imaps = []struct {
	name    string
	imap    imapFunc
	ordered bool
}{
	{"Imap", pool.Imap[int, int], true},
	{"ImapUnordered", pool.ImapUnordered[int, int], false},
}

func collect(t *testing.T, seq iter.Seq2[int, error]) ([]int, []error) {
	t.Helper()
	var vs []int
	var errs []error
	for v, err := range seq {
		vs = append(vs, v)
		errs = append(errs, err)
	}
	return vs, errs
}

func TestImap(t *testing.T) {
	ctx := context.Background()
	for _, im := range imaps {
		for _, tc := range []struct {
			n, cs int
		}{{0, 1}, {1, 1}, {100, 1}, {100, 7}, {100, 1000}, {3, 7}} {
			t.Run(im.name, func(t *testing.T) {
				p, c := newCounting(t, 3)
				vs, errs := collect(t, im.imap(ctx, p, square, slices.Values(ints(tc.n)), pool.WithChunkSize(tc.cs)))
				if len(vs) != tc.n {
					t.Fatalf("n=%d cs=%d: %d results", tc.n, tc.cs, len(vs))
				}
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				want := make([]int, tc.n)
				for i := range want {
					want[i] = i * i
				}
				if !im.ordered {
					slices.Sort(vs)
				}
				if !slices.Equal(vs, want) {
					t.Errorf("n=%d cs=%d: got %v", tc.n, tc.cs, vs)
				}
				if got, want := c.n.Load(), int64((tc.n+tc.cs-1)/tc.cs); got != want {
					t.Errorf("n=%d cs=%d: %d tasks, want %d", tc.n, tc.cs, got, want)
				}
			})
		}
	}
}

// ImapUnordered yields in completion order: an item held back comes last.
func TestImapUnorderedCompletionOrder(t *testing.T) {
	p := newPool(t, 2)
	release := make(chan struct{})
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		if x == 0 {
			<-release
		}
		return x, nil
	})
	var got []int
	for v, err := range pool.ImapUnordered(context.Background(), p, fn, slices.Values(ints(5))) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
		if len(got) == 4 {
			close(release)
		}
	}
	if len(got) != 5 || got[4] != 0 {
		t.Errorf("got %v, want item 0 last", got)
	}
}

// A failed item fails at its own position and iteration goes on.
func TestImapItemErrors(t *testing.T) {
	boom := errors.New("boom")
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		if x%4 == 1 {
			return -1, boom
		}
		if x == 6 {
			panic("six")
		}
		return x, nil
	})
	for _, im := range imaps {
		for _, cs := range []int{1, 7, 1000} {
			p := newPool(t, 2)
			seen := map[int]bool{}
			pos := 0
			for v, err := range im.imap(context.Background(), p, fn, slices.Values(ints(20)), pool.WithChunkSize(cs)) {
				i := v
				var ie *pool.ItemError
				if err != nil {
					if !errors.As(err, &ie) {
						t.Fatalf("%s cs=%d: %v is not an ItemError", im.name, cs, err)
					}
					i = ie.Index
				}
				if im.ordered && i != pos {
					t.Errorf("%s cs=%d: item %d at position %d", im.name, cs, i, pos)
				}
				pos++
				seen[i] = true
				switch {
				case i%4 == 1:
					if !errors.Is(err, boom) {
						t.Errorf("%s cs=%d item %d: err %v", im.name, cs, i, err)
					}
				case i == 6:
					var pe *executor.PanicError
					if !errors.As(err, &pe) {
						t.Errorf("%s cs=%d item 6: err %v, want a PanicError", im.name, cs, err)
					}
				default:
					if err != nil {
						t.Errorf("%s cs=%d item %d: %v", im.name, cs, i, err)
					}
				}
			}
			if len(seen) != 20 || pos != 20 {
				t.Errorf("%s cs=%d: %d results, %d distinct, want 20", im.name, cs, pos, len(seen))
			}
		}
	}
}

// failingInput yields n items and an error at each index in bad.
func failingInput(n int, bad ...int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range n {
			var err error
			if slices.Contains(bad, i) {
				err = errInput
			}
			if !yield(i, err) {
				return
			}
		}
	}
}

var errInput = errors.New("input failed")

// An error of the input sequence is delivered at its position.
func TestImap2InputErrors(t *testing.T) {
	ctx := context.Background()
	for _, cs := range []int{1, 7, 1000} {
		p := newPool(t, 2)
		i := 0
		for v, err := range pool.ImapFallible(ctx, p, square, failingInput(20, 5, 6, 19), pool.WithChunkSize(cs)) {
			var ie *pool.ItemError
			if i == 5 || i == 6 || i == 19 {
				if !errors.As(err, &ie) || !ie.Input || ie.Index != i || !errors.Is(err, errInput) {
					t.Errorf("cs=%d item %d: err %v, want the input error", cs, i, err)
				}
			} else if err != nil || v != i*i {
				t.Errorf("cs=%d item %d: %v, %v", cs, i, v, err)
			}
			i++
		}
		if i != 20 {
			t.Errorf("cs=%d: %d results", cs, i)
		}
		// Unordered: every item and every input error, once.
		var vals []int
		var inErrs []int
		for v, err := range pool.ImapUnorderedFallible(ctx, p, square, failingInput(20, 0, 13), pool.WithChunkSize(cs)) {
			var ie *pool.ItemError
			if errors.As(err, &ie) && ie.Input {
				inErrs = append(inErrs, ie.Index)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			vals = append(vals, v)
		}
		slices.Sort(inErrs)
		if len(vals) != 18 || !slices.Equal(inErrs, []int{0, 13}) {
			t.Errorf("cs=%d unordered: %d values, input errors at %v", cs, len(vals), inErrs)
		}
	}
}

// An input that fails midway and ends: the error comes after the items
// before it; nothing after it.
func TestImapInputFailsMidway(t *testing.T) {
	in := func(yield func(int, error) bool) {
		for i := range 10 {
			if !yield(i, nil) {
				return
			}
		}
		yield(0, errInput)
	}
	p := newPool(t, 2)
	var got []int
	var last error
	for v, err := range pool.ImapFallible(context.Background(), p, square, in, pool.WithChunkSize(3)) {
		if err != nil {
			last = err
			continue
		}
		got = append(got, v)
	}
	var ie *pool.ItemError
	if len(got) != 10 || !errors.As(last, &ie) || ie.Index != 10 || !ie.Input {
		t.Errorf("got %v, last error %v", got, last)
	}
}

// endless counts how many items it produced.
func endless(read *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; ; i++ {
			read.Add(1)
			if !yield(i) {
				return
			}
		}
	}
}

// Breaking out of the loop over an endless input stops reading it, cancels
// the chunks not started and returns; the pool joins (nothing outstanding).
func TestImapBreakEndless(t *testing.T) {
	for _, im := range imaps {
		for _, cs := range []int{1, 7} {
			t.Run(im.name, func(t *testing.T) {
				ex, err := executor.NewGoPool(executor.WithWorkers(2))
				if err != nil {
					t.Fatal(err)
				}
				c := &counting{Executor: ex}
				p, err := pool.New(c, pool.OwnExecutor())
				if err != nil {
					t.Fatal(err)
				}
				var read atomic.Int64
				n := 0
				for _, err := range im.imap(context.Background(), p, square, endless(&read), pool.WithChunkSize(cs), pool.WithChunksInFlight(4)) {
					if err != nil {
						t.Fatal(err)
					}
					if n++; n == 100 {
						break
					}
				}
				// Bounded read-ahead: at most 4 chunks beyond those delivered,
				// plus the partial chunk and the item that filled it.
				if r := read.Load(); r > int64(100+5*cs+1) {
					t.Errorf("read %d items for 100 results", r)
				}
				p.Close()
				if err := p.Join(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// While the loop body is slow, the input is read at most read-ahead chunks ahead.
func TestImapReadAheadBound(t *testing.T) {
	p := newPool(t, 4)
	var read atomic.Int64
	in := func(yield func(int) bool) {
		for i := range 1000 {
			read.Add(1)
			if !yield(i) {
				return
			}
		}
	}
	i := 0
	for _, err := range pool.Imap(context.Background(), p, square, in, pool.WithChunkSize(5), pool.WithChunksInFlight(3)) {
		if err != nil {
			t.Fatal(err)
		}
		i++
		if r := read.Load(); r > int64(i+4*5) {
			t.Fatalf("after %d results, %d items read", i, r)
		}
	}
}

// Breaking out of Imap while chunks are queued cancels them: they never run.
func TestImapBreakCancelsQueued(t *testing.T) {
	for _, im := range imaps {
		t.Run(im.name, func(t *testing.T) {
			p := newPool(t, 1)
			release := make(chan struct{})
			var ran atomic.Int64
			fn := executor.Fn(func(_ context.Context, x int) (int, error) {
				ran.Add(1)
				if x == 1 {
					<-release
				}
				return x, nil
			})
			for range im.imap(context.Background(), p, fn, slices.Values(ints(50)), pool.WithChunksInFlight(10)) {
				break // item 0 done; item 1 running; items 2.. queued
			}
			close(release)
			p.Close()
			if err := p.Join(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := ran.Load(); n > 2 {
				t.Errorf("%d items ran after the break, want at most 2", n)
			}
		})
	}
}

func TestImapContextCancelled(t *testing.T) {
	for _, im := range imaps {
		p := newPool(t, 2)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var read atomic.Int64
		n := 0
		var last error
		for _, err := range im.imap(ctx, p, square, endless(&read)) {
			if err != nil {
				last = err
				continue
			}
			if n++; n == 10 {
				cancel()
			}
		}
		if !errors.Is(last, context.Canceled) {
			t.Errorf("%s: last error %v", im.name, last)
		}
	}
}

func TestImapInvalidOptions(t *testing.T) {
	p := newPool(t, 2)
	for _, opt := range []pool.CallOption{pool.WithChunkSize(0), pool.WithChunksInFlight(0)} {
		_, errs := collect(t, pool.Imap(context.Background(), p, square, slices.Values(ints(3)), opt))
		if len(errs) != 1 || errs[0] == nil {
			t.Errorf("errors %v, want one", errs)
		}
	}
}

func TestImapProgress(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 2)
	type rep struct{ done, total int }
	var mu sync.Mutex
	var reps []rep
	prog := pool.WithProgress(func(d, tot int) {
		mu.Lock()
		reps = append(reps, rep{d, tot})
		mu.Unlock()
	})
	for _, err := range pool.ImapUnordered(ctx, p, square, slices.Values(ints(20)), pool.WithChunkSize(3), prog) {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	last := reps[len(reps)-1]
	for _, r := range reps[:len(reps)-1] {
		if r.total != -1 && r.total != 20 {
			t.Errorf("bad report %v", r)
		}
	}
	mu.Unlock()
	if last != (rep{20, 20}) {
		t.Errorf("last report %v, want {20 20}", last)
	}
	reps = nil
	for range pool.Imap(ctx, p, square, slices.Values(ints(20)), pool.WithChunkSize(3), pool.WithTotal(20), prog) {
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reps) != 7 || reps[0] != (rep{3, 20}) || reps[6] != (rep{20, 20}) {
		t.Errorf("reports %v", reps)
	}
}

// An input iterator that goes on after its yield returned false (a bug
// that a range loop would report) panics with a clear message, in the
// loop's goroutine, for both kinds of input; nothing it yields after the
// loop has ended is scheduled.
func TestImapInputIgnoresFalse(t *testing.T) {
	const want = "pool: the input iterator went on after its yield returned false"
	stubborn := func(yield func(int) bool) {
		for i := range 50 {
			yield(i) // ignores false
		}
	}
	stubborn2 := func(yield func(int, error) bool) {
		for i := range 50 {
			if i%10 == 9 {
				yield(0, errors.New("bad item"))
			} else {
				yield(i, nil)
			}
		}
	}
	cases := []struct {
		name string
		seq  func(p *pool.Pool) iter.Seq2[int, error]
	}{
		{"Imap", func(p *pool.Pool) iter.Seq2[int, error] {
			return pool.Imap(context.Background(), p, square, stubborn, pool.WithChunkSize(3))
		}},
		{"ImapUnordered", func(p *pool.Pool) iter.Seq2[int, error] {
			return pool.ImapUnordered(context.Background(), p, square, stubborn, pool.WithChunkSize(3))
		}},
		{"ImapFallible", func(p *pool.Pool) iter.Seq2[int, error] {
			return pool.ImapFallible(context.Background(), p, square, stubborn2, pool.WithChunkSize(3))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, 2)
			got := func() (v any) {
				defer func() { v = recover() }()
				for range tc.seq(p) {
					break
				}
				return nil
			}()
			if got != want {
				t.Fatalf("recovered %v, want %q", got, want)
			}
			p.Close()
			if err := p.Join(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
