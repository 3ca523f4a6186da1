package pool_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/pool"
)

var inc = executor.Fn(func(_ context.Context, x int) (int, error) { return x + 1, nil })

const benchItems = 10_000

// Each op handles benchItems trivial items; items/s is reported.
func BenchmarkPool(b *testing.B) {
	ctx := context.Background()
	items := ints(benchItems)
	for _, cs := range []int{1, 1000} {
		b.Run(fmt.Sprintf("Map/chunk=%d", cs), func(b *testing.B) {
			p := newPool(b, 2)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pool.Map(ctx, p, inc, items, pool.WithChunkSize(cs)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchItems*b.N)/b.Elapsed().Seconds(), "items/s")
		})
		for _, im := range imaps {
			b.Run(fmt.Sprintf("%s/chunk=%d", im.name, cs), func(b *testing.B) {
				p := newPool(b, 2)
				b.ReportAllocs()
				for b.Loop() {
					n := 0
					for _, err := range im.imap(ctx, p, inc, slices.Values(items), pool.WithChunkSize(cs)) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != benchItems {
						b.Fatalf("%d results", n)
					}
				}
				b.ReportMetric(float64(benchItems*b.N)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
	b.Run("Apply", func(b *testing.B) {
		p := newPool(b, 2)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pool.Apply(ctx, p, inc, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ApplyAsync", func(b *testing.B) {
		p := newPool(b, 2)
		b.ReportAllocs()
		fs := make([]*future.Future[int], 0, 1000)
		for b.Loop() {
			f, err := pool.ApplyAsync(ctx, p, inc, 1)
			if err != nil {
				b.Fatal(err)
			}
			fs = append(fs, f)
			if len(fs) == cap(fs) {
				for _, f := range fs {
					if _, err := f.Result(ctx); err != nil {
						b.Fatal(err)
					}
				}
				fs = fs[:0]
			}
		}
	})
}
