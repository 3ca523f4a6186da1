package main

import (
	"context"
	"slices"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

func gofuturesB(ctx context.Context, urls []string) error {
	ex, err := executor.NewGoPool(executor.WithWorkers(16))
	if err != nil {
		return err
	}
	p, _ := pool.New(ex, pool.OwnExecutor())
	defer func() { p.Close(); p.Join(ctx) }()
	fetch := executor.Fn(func(ctx context.Context, u string) (int, error) { return get(ctx, u, time.Second) })
	retry := executor.NewRetry(4, executor.RetryBackoff(100*time.Millisecond, 2*time.Second), executor.RetryIf(transient))
	hosts := executor.NewKeyLimit(hostOf, executor.KeyConcurrency(4))
	for r, err := range pool.ImapUnorderedIndex(ctx, p, fetch, slices.Values(urls), pool.WithTaskOptions(retry, hosts)) {
		report(urls[r.Index], r.Value, err)
	}
	return nil
}
