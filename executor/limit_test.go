package executor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"golang.org/x/time/rate"
)

// starts records when each task started, by key.
type starts struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (s *starts) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[string][]time.Time{}
	}
	s.at[key] = append(s.at[key], time.Now())
}

// A rate of 10/s, held over 5 s: 51 tasks (the first starts at once)
// start 100ms apart, the last at 5 s (synctest's clock: the measure is of
// events, not of a busy machine's scheduling).
func TestRateHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, executor.WithWorkers(4))
		var s starts
		fn := executor.Fn(func(ctx context.Context, k string) (int, error) { s.add(k); return 0, nil })
		lim := rate.NewLimiter(10, 1)
		ctx := context.Background()
		t0 := time.Now()
		var fs []*future.Future[int]
		for range 51 {
			f, err := executor.Call(ctx, p, fn, "x", executor.Rate(lim))
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
		if _, err := future.Gather(ctx, fs); err != nil {
			t.Fatal(err)
		}
		at := s.at["x"]
		span := at[len(at)-1].Sub(t0)
		if got := float64(len(at)-1) / span.Seconds(); got < 9 || got > 11 {
			t.Fatalf("rate %.2f/s over %v, want 10/s ±10%%", got, span)
		}
	})
}

// A rate's wait ends with the ctx.
func TestRateCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		lim := rate.NewLimiter(rate.Every(time.Hour), 1)
		lim.Allow() // the burst is spent
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		fn := executor.Fn(func(ctx context.Context, k string) (int, error) { return 0, nil })
		_, err := executor.Call(ctx, p, fn, "x", executor.Rate(lim))
		if err == nil {
			t.Fatal("no error")
		}
	})
}

// Per-key limits keep two hosts independent: host a, limited to one task
// at a time, has one blocked; host b's tasks run meanwhile, on the same
// pool, and a's second task waits without holding a worker.
func TestKeyLimitIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, executor.WithWorkers(2))
		gate := make(chan struct{})
		var s starts
		fn := executor.Fn(func(ctx context.Context, k string) (string, error) {
			s.add(k)
			if k == "a/block" {
				<-gate
			}
			return k, nil
		})
		hosts := executor.NewKeyLimit(func(u string) string { return u[:1] }, executor.KeyConcurrency(1))
		ctx := context.Background()
		call := func(u string) *future.Future[string] {
			f, err := executor.Call(ctx, p, fn, u, hosts)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		blocked := call("a/block")
		second := call("a/second")
		var bs []*future.Future[string]
		for range 5 {
			bs = append(bs, call("b/x"))
		}
		if _, err := future.Gather(ctx, bs); err != nil { // b runs while a is blocked
			t.Fatal(err)
		}
		synctest.Wait()
		if second.Ready() || len(s.at["a/second"]) != 0 {
			t.Fatal("a's second task ran while a's first held its only slot")
		}
		if st := p.Stats(); st.Queued != 0 {
			t.Fatalf("%d tasks queued in the pool: a waiting key must not hold one", st.Queued)
		}
		close(gate)
		if _, err := future.Gather(ctx, []*future.Future[string]{blocked, second}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := hosts.Keys(); n != 0 {
			t.Fatalf("%d keys kept after every task ended", n)
		}
	})
}

// A per-key rate paces each key by itself: a at 1/s does not slow b.
func TestKeyRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t, executor.WithWorkers(4))
		var s starts
		fn := executor.Fn(func(ctx context.Context, k string) (int, error) { s.add(k); return 0, nil })
		slow := executor.NewKeyLimit(func(k string) string { return k }, executor.KeyRate(1, 1))
		ctx := context.Background()
		t0 := time.Now()
		var fs []*future.Future[int]
		for range 4 {
			for _, k := range []string{"a", "b"} {
				f, err := executor.Call(ctx, p, fn, k, slow)
				if err != nil {
					t.Fatal(err)
				}
				fs = append(fs, f)
			}
		}
		if _, err := future.Gather(ctx, fs); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b"} {
			at := s.at[k]
			if len(at) != 4 || at[3].Sub(t0) < 3*time.Second-time.Millisecond || at[3].Sub(t0) > 3*time.Second+10*time.Millisecond {
				t.Fatalf("%s started at %v, want 1/s from 0", k, at)
			}
		}
	})
}

// A task waiting for its key fails at once when its ctx ends, and a retry
// goes through the key again.
func TestKeyLimitCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPool(t)
		gate := make(chan struct{})
		fn := executor.Fn(func(ctx context.Context, k string) (int, error) { <-gate; return 0, nil })
		one := executor.NewKeyLimit(func(k string) string { return k }, executor.KeyConcurrency(1))
		ctx := context.Background()
		first, err := executor.Call(ctx, p, fn, "k", one)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		waiting, err := executor.Call(cctx, p, fn, "k", one)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := waiting.Err(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("waiting task: %v", err)
		}
		close(gate)
		if err := first.Err(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeyLimitInvalid(t *testing.T) {
	p := newPool(t)
	fn := executor.Fn(func(ctx context.Context, k string) (int, error) { return 0, nil })
	for _, kl := range []*executor.KeyLimit[string]{
		executor.NewKeyLimit(func(k string) string { return k }),
		executor.NewKeyLimit(func(k string) string { return k }, executor.KeyConcurrency(-1)),
		executor.NewKeyLimit(func(k string) string { return k }, executor.KeyRate(1, 0)),
	} {
		if _, err := executor.Call(context.Background(), p, fn, "x", kl); err == nil {
			t.Error("no error for an invalid KeyLimit")
		}
	}
	ints := executor.NewKeyLimit(func(int) string { return "" }, executor.KeyConcurrency(1))
	if _, err := executor.Call(context.Background(), p, fn, "x", ints); err == nil {
		t.Error("no error for a KeyLimit of another argument type")
	}
	if _, err := executor.Submit(context.Background(), p, func(context.Context) (int, error) { return 0, nil }, ints); err == nil {
		t.Error("no error for a KeyLimit on a closure")
	}
}
