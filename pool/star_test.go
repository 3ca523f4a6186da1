package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/pool"
)

func TestStarmap(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 2)
	add := pool.Star2(func(_ context.Context, a int, b string) (string, error) {
		return b + string(rune('0'+a)), nil
	})
	got, err := pool.Starmap(ctx, p, add, []pool.Args2[int, string]{{1, "a"}, {2, "b"}, {3, "c"}}, pool.WithChunkSize(2))
	if err != nil || !slices.Equal(got, []string{"a1", "b2", "c3"}) {
		t.Errorf("Starmap = %v, %v", got, err)
	}
	sum3 := pool.Star3(func(_ context.Context, a, b, c int) (int, error) { return a + b + c, nil })
	f, err := pool.StarmapAsync(ctx, p, sum3, []pool.Args3[int, int, int]{{1, 2, 3}, {4, 5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Result(ctx); err != nil || !slices.Equal(got, []int{6, 15}) {
		t.Errorf("StarmapAsync = %v, %v", got, err)
	}
	if got, err := pool.Starmap(ctx, p, sum3, nil); err != nil || len(got) != 0 {
		t.Errorf("Starmap of nothing = %v, %v", got, err)
	}
}

// remoteOnly accepts only tasks that a remote executor could send: a
// registered function's name and its arguments, one message a chunk.
type remoteOnly struct {
	executor.Executor
	msgs atomic.Int64
}

func (r *remoteOnly) Schedule(ctx context.Context, t driver.Task) error {
	rem := t.Remote()
	if rem == nil {
		return executor.ErrNotRemote
	}
	if _, ok := rem.Args().([]pool.Args2[int, int]); !ok || !rem.Chunk() || rem.FuncName() != "pow" {
		return fmt.Errorf("unexpected remote task %q %T", rem.FuncName(), rem.Args())
	}
	r.msgs.Add(1)
	return r.Executor.Schedule(ctx, t)
}

// pow stands for a function registered by name (package process) that
// takes an Args2.
type pow struct{}

func (pow) FuncName() string { return "pow" }
func (pow) Call(_ context.Context, a pool.Args2[int, int]) (int, error) {
	r := 1
	for range a.V2 {
		r *= a.V1
	}
	return r, nil
}

func TestStarmapRegistered(t *testing.T) {
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	r := &remoteOnly{Executor: ex}
	p, err := pool.New(r, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Close()
		if err := p.Join(ctx); err != nil {
			t.Error(err)
		}
	}()
	args := []pool.Args2[int, int]{{2, 3}, {3, 2}, {5, 0}, {2, 10}, {7, 1}}
	got, err := pool.Starmap(ctx, p, executor.Func[pool.Args2[int, int], int](pow{}), args, pool.WithChunkSize(2))
	if err != nil || !slices.Equal(got, []int{8, 9, 1, 1024, 7}) {
		t.Errorf("Starmap = %v, %v", got, err)
	}
	if n := r.msgs.Load(); n != 3 {
		t.Errorf("%d messages, want 3 (one a chunk)", n)
	}
	// A Go closure cannot go remote: the executor refuses it.
	if _, err := pool.Starmap(ctx, p, pool.Star2(func(_ context.Context, a, b int) (int, error) { return a + b, nil }), args); !errors.Is(err, executor.ErrNotRemote) {
		t.Errorf("closure: %v, want ErrNotRemote", err)
	}
}
