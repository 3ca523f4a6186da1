package main

import (
	"context"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"
)

func concA(ctx context.Context, urls []string) error {
	p := pool.New().WithMaxGoroutines(16)
	var mu sync.Mutex
	for _, u := range urls {
		p.Go(func() {
			status, err := get(ctx, u, time.Second)
			mu.Lock()
			defer mu.Unlock()
			report(u, status, err)
		})
	}
	p.Wait()
	return nil
}
