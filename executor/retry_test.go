package executor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofutures/gofutures/executor"
)

// tempErr says it is temporary: the default policy retries it.
type tempErr struct{ after time.Duration }

func (e tempErr) Error() string             { return "try again" }
func (e tempErr) Temporary() bool           { return true }
func (e tempErr) RetryAfter() time.Duration { return e.after }
func (e tempErr) Is(target error) bool      { _, ok := target.(tempErr); return ok }

// attempts records when each attempt ran: the side effect that proves how
// many times the function ran, and the backoff between the runs.
type attempts struct {
	mu sync.Mutex
	at []time.Time
}

func (a *attempts) add() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, time.Now())
	return len(a.at)
}

func (a *attempts) gaps() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(a.at); i++ {
		g = append(g, a.at[i].Sub(a.at[i-1]))
	}
	return g
}

func TestRetryFailsTwiceThenSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var retried atomic.Int32
		var finished atomic.Int32
		hooks := &executor.Hooks{
			Retried:  func(time.Duration) { retried.Add(1) },
			Finished: func(executor.Finish) { finished.Add(1) },
		}
		p := newPool(t, executor.WithWorkers(2), executor.WithHooks(hooks))
		var a attempts
		fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
			if a.add() < 3 {
				return 0, tempErr{}
			}
			return x * 2, nil
		})
		retry := executor.NewRetry(5, executor.RetryBackoff(time.Second, time.Minute))
		ctx := context.Background()
		f, err := executor.Call(ctx, p, fn, 21, retry)
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.Result(ctx)
		if v != 42 || err != nil {
			t.Fatalf("got %v, %v", v, err)
		}
		g := a.gaps()
		if len(g) != 2 {
			t.Fatalf("%d attempts, want 3", len(g)+1)
		}
		// Backoff 1s then 2s, each drawn from its upper half.
		if g[0] < 500*time.Millisecond || g[0] > time.Second || g[1] < time.Second || g[1] > 2*time.Second {
			t.Fatalf("backoff %v, want [0.5s,1s] then [1s,2s]", g)
		}
		synctest.Wait() // the last Finished hook runs after the future completes
		if retried.Load() != 2 || finished.Load() != 3 {
			t.Fatalf("hooks: %d retries, %d finished; want 2 and 3", retried.Load(), finished.Load())
		}
	})
}

func TestRetryGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		var a attempts
		fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
			a.add()
			return 0, tempErr{}
		})
		ctx := context.Background()
		f, err := executor.Call(ctx, p, fn, 1, executor.NewRetry(3))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Result(ctx)
		var re *executor.RetryError
		if !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, tempErr{}) || re.Cause != nil {
			t.Fatalf("err = %v", err)
		}
		if n := len(a.gaps()) + 1; n != 3 {
			t.Fatalf("ran %d times", n)
		}
	})
}

func TestRetryNotRetryable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		boom := errors.New("bad request")
		var a attempts
		for _, fn := range []func() error{
			func() error { return boom },
			func() error { panic("no") },
			func() error { return context.Canceled },
		} {
			a = attempts{}
			f, err := executor.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
				a.add()
				return 0, fn()
			}, executor.NewRetry(5))
			if err != nil {
				t.Fatal(err)
			}
			err = f.Err(context.Background())
			var re *executor.RetryError
			if err == nil || errors.As(err, &re) {
				t.Fatalf("err = %v, want the first attempt's own error", err)
			}
			if n := len(a.gaps()) + 1; n != 1 {
				t.Fatalf("%v: ran %d times", err, n)
			}
		}
	})
}

func TestRetryCtxEndsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		failed := make(chan struct{}, 1)
		var a attempts
		fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
			a.add()
			failed <- struct{}{}
			return 0, tempErr{}
		})
		ctx, cancel := context.WithCancelCause(context.Background())
		f, err := executor.Call(ctx, p, fn, 1, executor.NewRetry(5, executor.RetryBackoff(time.Hour, time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		<-failed
		synctest.Wait() // in the backoff now
		start := time.Now()
		stop := errors.New("user gave up")
		cancel(stop)
		err = f.Err(context.Background())
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("waited %v after the cancel", waited)
		}
		var re *executor.RetryError
		if !errors.As(err, &re) || re.Attempts != 1 || !errors.Is(err, stop) || !errors.Is(err, tempErr{}) {
			t.Fatalf("err = %v", err)
		}
		if n := len(a.gaps()) + 1; n != 1 {
			t.Fatalf("ran %d times", n)
		}
	})
}

// Shutdown or Stop during a backoff ends it at once: the next attempt is
// refused, and the task fails with a *RetryError wrapping the refusal and
// the last error; the function ran once.
func TestRetryCloseEndsBackoff(t *testing.T) {
	for _, how := range []string{"Shutdown", "Stop"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, err := executor.NewGoPool(executor.WithWorkers(1))
				if err != nil {
					t.Fatal(err)
				}
				failed := make(chan struct{}, 1)
				var a attempts
				fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
					a.add()
					failed <- struct{}{}
					return 0, tempErr{}
				})
				ctx := context.Background()
				f, err := executor.Call(ctx, p, fn, 1, executor.NewRetry(5, executor.RetryBackoff(time.Hour, time.Hour)))
				if err != nil {
					t.Fatal(err)
				}
				<-failed
				synctest.Wait() // in the backoff now
				start := time.Now()
				if how == "Stop" {
					err = p.Stop(ctx)
				} else {
					err = p.Shutdown(ctx)
				}
				if err != nil {
					t.Fatal(err)
				}
				err = f.Err(ctx)
				if waited := time.Since(start); waited != 0 {
					t.Fatalf("waited %v after %s", waited, how)
				}
				var re *executor.RetryError
				if !errors.As(err, &re) || re.Attempts != 1 || !errors.Is(err, executor.ErrShutdown) || !errors.Is(err, tempErr{}) {
					t.Fatalf("err = %v, want a RetryError after 1 attempt wrapping ErrShutdown and the last error", err)
				}
				if n := len(a.gaps()) + 1; n != 1 {
					t.Fatalf("ran %d times", n)
				}
			})
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		var a attempts
		fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
			if a.add() == 1 {
				return 0, tempErr{after: 7 * time.Second}
			}
			return 1, nil
		})
		f, err := executor.Call(context.Background(), p, fn, 1, executor.NewRetry(2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Result(context.Background()); err != nil {
			t.Fatal(err)
		}
		if g := a.gaps(); len(g) != 1 || g[0] != 7*time.Second {
			t.Fatalf("gaps %v, want [7s]", g)
		}
	})
}

// A chunk retries only the items that failed with a retryable error.
func TestRetryChunkItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		var mu sync.Mutex
		runs := map[int]int{}
		fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
			mu.Lock()
			runs[x]++
			n := runs[x]
			mu.Unlock()
			switch {
			case x == 1 && n == 1:
				return 0, tempErr{}
			case x == 2:
				return 0, errors.New("permanent")
			case x == 3 && n <= 2:
				return 0, tempErr{}
			}
			return x * 10, nil
		})
		f, err := executor.CallChunk(context.Background(), p, fn, []int{0, 1, 2, 3}, executor.NewRetry(4))
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.Result(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.Values[0] != 0 || c.Values[1] != 10 || c.Values[3] != 30 || c.Err(0) != nil || c.Err(1) != nil || c.Err(3) != nil {
			t.Fatalf("chunk %+v", c)
		}
		var re *executor.RetryError
		if c.Err(2) == nil || errors.As(c.Err(2), &re) {
			t.Fatalf("item 2: %v, want its own error (one attempt)", c.Err(2))
		}
		if runs[0] != 1 || runs[1] != 2 || runs[2] != 1 || runs[3] != 3 {
			t.Fatalf("runs %v", runs)
		}
	})
}

func TestRetryInvalid(t *testing.T) {
	p := newPool(t)
	fn := executor.Fn(func(ctx context.Context, x int) (int, error) { return x, nil })
	for _, r := range []*executor.Retry{
		executor.NewRetry(0),
		executor.NewRetry(2, executor.RetryBackoff(0, time.Second)),
		executor.NewRetry(2, executor.RetryBackoff(time.Second, time.Millisecond)),
	} {
		if _, err := executor.Call(context.Background(), p, fn, 1, r); err == nil {
			t.Errorf("no error for an invalid policy")
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("x"), false},
		{tempErr{}, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{executor.ErrWorkerDied, false},
		{&executor.PanicError{Value: tempErr{}}, false},
		{executor.ErrStopped, false},
	} {
		if got := executor.Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v", c.err, got)
		}
	}
}

// TestRetryPolicyNoAllocation: a retry policy costs a task that ends on its
// first attempt no allocation more than no policy (the Retry doc says so):
// the policy's state is allocated with the task and its future.
func TestRetryPolicyNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	p := newPool(t, executor.WithWorkers(1))
	inc := executor.Fn(func(_ context.Context, x int) (int, error) { return x + 1, nil })
	allocs := func(opts ...executor.CallOption) float64 {
		return testing.AllocsPerRun(200, func() {
			f, err := executor.Call(ctx, p, inc, 1, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := f.Result(ctx); v != 2 || err != nil {
				t.Fatal(v, err)
			}
		})
	}
	without := allocs()
	for _, r := range []*executor.Retry{
		executor.NewRetry(1),
		executor.NewRetry(3, executor.RetryIf(func(error) bool { return false })),
	} {
		if with := allocs(r); with-without >= 0.5 {
			t.Errorf("%v allocations per task with a policy of %d attempts, %v without", with, r.Attempts(), without)
		}
	}
}
