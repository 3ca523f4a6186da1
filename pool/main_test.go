package pool_test

import (
	"context"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// newPool returns a Pool that owns a GoPool of n workers, shut down at the
// end of the test.
func newPool(t testing.TB, n int, opts ...pool.Option) *pool.Pool {
	t.Helper()
	ex, err := executor.NewGoPool(executor.WithWorkers(n))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(ex, append([]pool.Option{pool.OwnExecutor()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Terminate(context.Background()); err != nil {
			t.Errorf("Terminate: %v", err)
		}
		if err := p.Join(context.Background()); err != nil {
			t.Errorf("Join: %v", err)
		}
	})
	return p
}

// counting wraps an executor and counts the tasks scheduled on it.
type counting struct {
	executor.Executor
	n atomic.Int64
}

func (c *counting) Schedule(ctx context.Context, t driver.Task) error {
	c.n.Add(1)
	return c.Executor.Schedule(ctx, t)
}

// newCounting returns a Pool over a counting executor of n workers.
func newCounting(t testing.TB, n int) (*pool.Pool, *counting) {
	t.Helper()
	ex, err := executor.NewGoPool(executor.WithWorkers(n))
	if err != nil {
		t.Fatal(err)
	}
	c := &counting{Executor: ex}
	p, err := pool.New(c, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if err := p.Join(context.Background()); err != nil {
			t.Errorf("Join: %v", err)
		}
	})
	return p, c
}

// newNotOwned returns a GoPool of n workers, shut down at the end of the
// test, and a Pool over it that does not own it.
func newNotOwned(t testing.TB, n int) (*executor.GoPool, *pool.Pool) {
	t.Helper()
	ex, err := executor.NewGoPool(executor.WithWorkers(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Shutdown(context.Background()) })
	p, err := pool.New(ex)
	if err != nil {
		t.Fatal(err)
	}
	return ex, p
}

// gate is a task function whose first call blocks: it closes started and
// waits until release is closed. ran counts every call.
type gate struct {
	fn      executor.Func[int, int]
	started chan struct{}
	release chan struct{}
	ran     atomic.Int64
}

func newGate() *gate {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	g.fn = executor.Fn(func(_ context.Context, x int) (int, error) {
		if g.ran.Add(1) == 1 {
			close(g.started)
			<-g.release
		}
		return x, nil
	})
	return g
}

var square = executor.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })

func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
