package main

import (
	"context"
	"slices"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

func gofuturesA(ctx context.Context, urls []string) error {
	ex, err := executor.NewGoPool(executor.WithWorkers(16))
	if err != nil {
		return err
	}
	p, _ := pool.New(ex, pool.OwnExecutor())
	defer func() { p.Close(); p.Join(ctx) }()
	fetch := executor.Fn(func(ctx context.Context, u string) (int, error) { return get(ctx, u, time.Second) })
	for r, err := range pool.ImapUnorderedIndex(ctx, p, fetch, slices.Values(urls)) {
		report(urls[r.Index], r.Value, err)
	}
	return nil
}
