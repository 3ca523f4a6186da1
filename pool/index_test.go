package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

// ImapUnorderedIndex gives every result and every error the index of its
// input, in any chunk size.
func TestImapUnorderedIndex(t *testing.T) {
	for _, cs := range []int{1, 3} {
		t.Run(fmt.Sprint("chunk", cs), func(t *testing.T) {
			p := newPool(t, 3)
			in := []string{"a", "bad", "c", "d", "bad", "f", "g"}
			fn := executor.Fn(func(_ context.Context, s string) (string, error) {
				if s == "bad" {
					return "", errors.New("bad item")
				}
				return strings.ToUpper(s), nil
			})
			seen := make([]bool, len(in))
			for r, err := range pool.ImapUnorderedIndex(context.Background(), p, fn, slices.Values(in), pool.WithChunkSize(cs)) {
				if r.Index < 0 || seen[r.Index] {
					t.Fatalf("index %d (err %v)", r.Index, err)
				}
				seen[r.Index] = true
				var ie *pool.ItemError
				switch {
				case in[r.Index] == "bad":
					if !errors.As(err, &ie) || ie.Index != r.Index {
						t.Fatalf("item %d: %v", r.Index, err)
					}
				case err != nil || r.Value != strings.ToUpper(in[r.Index]):
					t.Fatalf("item %d: %q, %v", r.Index, r.Value, err)
				}
			}
			if slices.Contains(seen, false) {
				t.Fatalf("not every item delivered: %v", seen)
			}
		})
	}
	// An error that ends the loop comes with index -1.
	p := newPool(t, 1)
	fn := executor.Fn(func(_ context.Context, s string) (string, error) { return s, nil })
	for r, err := range pool.ImapUnorderedIndex(context.Background(), p, fn, slices.Values([]string{"x"}), pool.WithChunkSize(0)) {
		if r.Index != -1 || err == nil {
			t.Fatal(r, err)
		}
	}
}

type flaky struct{}

func (flaky) Error() string   { return "flaky" }
func (flaky) Temporary() bool { return true }

// flakyEvery returns the identity as a Func that fails the items divisible
// by every with a flaky error on their first two executions, and the number
// of executions of an item so far.
func flakyEvery(every int) (executor.Func[int, int], func(x int) int) {
	var mu sync.Mutex
	runs := map[int]int{}
	fn := executor.Fn(func(_ context.Context, x int) (int, error) {
		mu.Lock()
		runs[x]++
		n := runs[x]
		mu.Unlock()
		if x%every == 0 && n < 3 {
			return 0, flaky{}
		}
		return x, nil
	})
	return fn, func(x int) int {
		mu.Lock()
		defer mu.Unlock()
		return runs[x]
	}
}

// WithTaskOptions retries only the items that failed with a retryable
// error; each item's executions are counted.
func TestWithTaskOptionsRetry(t *testing.T) {
	p := newPool(t, 2)
	fn, runs := flakyEvery(3)
	retry := executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	items := []int{0, 1, 2, 3, 4, 5, 6}
	got, err := pool.Map(context.Background(), p, fn, items, pool.WithChunkSize(2), pool.WithTaskOptions(retry))
	if err != nil || !slices.Equal(got, items) {
		t.Fatal(got, err)
	}
	for _, x := range items {
		want := 1
		if x%3 == 0 {
			want = 3
		}
		if n := runs(x); n != want {
			t.Fatalf("item %d ran %d times, want %d", x, n, want)
		}
	}
}
