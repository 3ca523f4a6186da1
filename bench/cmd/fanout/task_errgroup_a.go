package main

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

func errgroupA(ctx context.Context, urls []string) error {
	var g errgroup.Group
	g.SetLimit(16)
	var mu sync.Mutex
	for _, u := range urls {
		g.Go(func() error {
			status, err := get(ctx, u, time.Second)
			mu.Lock()
			defer mu.Unlock()
			report(u, status, err)
			return nil
		})
	}
	return g.Wait()
}
