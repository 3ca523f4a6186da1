package main

import (
	"context"
	"iter"

	"golang.org/x/sync/errgroup"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

// incr is the user's function. Both sides call it through a func value
// with an error result, as a library function would be called.
var incr = func(_ context.Context, x int) (int, error) { return x + 1, nil }

var inc = executor.Fn(incr)

// naturals is a lazy input 0..n-1, as Python's range(n).
func naturals(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

func poolImapUnordered(ctx context.Context, p *pool.Pool, n, cs int) (int, error) {
	sum := 0
	for v, err := range pool.ImapUnordered(ctx, p, inc, naturals(n), pool.WithChunkSize(cs)) {
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func poolMap(ctx context.Context, p *pool.Pool, items []int, cs int) (int, error) {
	res, err := pool.Map(ctx, p, inc, items, pool.WithChunkSize(cs))
	if err != nil {
		return 0, err
	}
	sum := 0
	for _, v := range res {
		sum += v
	}
	return sum, nil
}

// handUnordered is what one writes by hand for imap_unordered: a producer
// goroutine reads the lazy input into chunks and starts one errgroup
// goroutine per chunk (at most workers at once); each sends its results on a
// channel that the caller reads in completion order.
func handUnordered(ctx context.Context, workers, n, cs int) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	out := make(chan []int, 2*workers)
	go func() {
		defer close(out)
		buf := make([]int, 0, cs)
		flush := func() {
			chunk := buf
			buf = make([]int, 0, cs)
			g.Go(func() error {
				res := make([]int, len(chunk))
				for i, x := range chunk {
					v, err := incr(ctx, x)
					if err != nil {
						return err
					}
					res[i] = v
				}
				select {
				case out <- res:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}
		for x := range naturals(n) {
			buf = append(buf, x)
			if len(buf) == cs {
				flush()
			}
		}
		if len(buf) > 0 {
			flush()
		}
		_ = g.Wait()
	}()
	sum := 0
	for res := range out {
		for _, v := range res {
			sum += v
		}
	}
	return sum, g.Wait()
}

// handMap is a hand-written ordered map: one errgroup goroutine per chunk
// (at most workers at once), each writing its results into place.
func handMap(ctx context.Context, workers int, items []int, cs int) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	res := make([]int, len(items))
	for lo := 0; lo < len(items); lo += cs {
		hi := min(lo+cs, len(items))
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				v, err := incr(ctx, items[i])
				if err != nil {
					return err
				}
				res[i] = v
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	sum := 0
	for _, v := range res {
		sum += v
	}
	return sum, nil
}
