package pool_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/gofutures/gofutures/pool"
)

// BenchmarkMapWindow: Map of 200,000 trivial items at chunk sizes 1 and
// 1000, with the default window (16 × workers chunks), with small and large
// ones, and with every chunk scheduled at once (window=all, as Map did
// before it had a window: memory for every chunk). items/s is reported.
func BenchmarkMapWindow(b *testing.B) {
	const mapItems = 200_000
	ctx := context.Background()
	items := ints(mapItems)
	for _, cs := range []int{1, 1000} {
		for _, w := range []struct {
			name string
			n    int // 0: the default
		}{{"default", 0}, {"4", 4}, {"256", 256}, {"all", math.MaxInt}} {
			opts := []pool.CallOption{pool.WithChunkSize(cs)}
			if w.n > 0 {
				opts = append(opts, pool.WithChunksInFlight(w.n))
			}
			b.Run(fmt.Sprintf("chunk=%d/window=%s", cs, w.name), func(b *testing.B) {
				p := newPool(b, 2)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := pool.Map(ctx, p, inc, items, opts...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(mapItems*b.N)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
}
