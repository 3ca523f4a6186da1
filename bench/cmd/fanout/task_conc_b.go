package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/semaphore"
)

func concB(ctx context.Context, urls []string) error {
	p := pool.New().WithMaxGoroutines(16)
	var mu sync.Mutex
	hosts := map[string]*semaphore.Weighted{}
	for _, u := range urls {
		sem := hosts[hostOf(u)]
		if sem == nil {
			sem = semaphore.NewWeighted(4)
			hosts[hostOf(u)] = sem
		}
		p.Go(func() {
			status, err := concGetWithRetries(ctx, sem, u)
			mu.Lock()
			defer mu.Unlock()
			report(u, status, err)
		})
	}
	p.Wait()
	return nil
}

func concGetWithRetries(ctx context.Context, sem *semaphore.Weighted, u string) (status int, err error) {
	for attempt := range 4 {
		if attempt > 0 {
			d := min(100*time.Millisecond<<(attempt-1), 2*time.Second)
			select {
			case <-time.After(d/2 + rand.N(d/2)):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if err := sem.Acquire(ctx, 1); err != nil {
			return 0, err
		}
		status, err = get(ctx, u, time.Second)
		sem.Release(1)
		if err == nil || !transient(err) {
			return status, err
		}
	}
	return status, err
}
