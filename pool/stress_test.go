package pool_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

var errSome = errors.New("some item failed")

// Many calls of every kind at once, then Terminate in the middle: every call
// ends (with a result or a pool error), Join returns, nothing leaks.
func TestStressTerminate(t *testing.T) {
	for round := range 5 {
		ctx := context.Background()
		ex, err := executor.NewGoPool(executor.WithWorkers(3))
		if err != nil {
			t.Fatal(err)
		}
		p, err := pool.New(ex, pool.OwnExecutor())
		if err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int64
		fn := executor.Fn(func(ctx context.Context, x int) (int, error) {
			if calls.Add(1)%97 == 0 {
				return 0, errSome
			}
			return x, ctx.Err()
		})
		ok := func(err error) bool {
			var ie *pool.ItemError
			return err == nil || errors.Is(err, errSome) || errors.As(err, &ie) || errors.Is(err, pool.ErrTerminated) ||
				errors.Is(err, pool.ErrClosed) || errors.Is(err, executor.ErrShutdown)
		}
		var wg sync.WaitGroup
		errc := make(chan error, 1000)
		for g := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					var err error
					switch (g + i) % 4 {
					case 0:
						_, err = pool.Map(ctx, p, fn, ints(50), pool.WithChunkSize(1+i%7))
					case 1:
						_, err = pool.Apply(ctx, p, fn, i)
					case 2, 3:
						im := imaps[(g+i)%2]
						n := 0
						for _, e := range im.imap(ctx, p, fn, slices.Values(ints(40)), pool.WithChunkSize(1+i%3)) {
							if !ok(e) {
								err = e
							}
							if errors.Is(e, pool.ErrClosed) {
								err = e
							}
							if n++; n == 30 && i%2 == 0 {
								break
							}
						}
					}
					if errors.Is(err, pool.ErrClosed) {
						return
					}
					if !ok(err) {
						errc <- err
						return
					}
				}
			})
		}
		for calls.Load() < int64(2000*(round+1)) {
			if _, err := pool.Apply(ctx, p, fn, 1); err != nil && !ok(err) {
				t.Fatal(err)
			}
		}
		if err := p.Terminate(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		close(errc)
		for err := range errc {
			t.Errorf("round %d: unexpected error %v", round, err)
		}
	}
}
