package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// BenchmarkCall: one task per message through the embedded server and a
// worker in this process (memory storage), submitted in batches of 1000.
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	ex, err := New(ctx, testReg, WithToken(testToken), WithStorage(MemoryStorage), WithStoreDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ex.Stop(ctx) }()
	w, _ := NewWorker(testReg, WithURL(ex.URL()), WithToken(testToken))
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	futs := make([]*future.Future[int], 0, 1000)
	b.ReportAllocs()
	t0 := time.Now()
	n := 0
	for b.Loop() {
		f, err := executor.Call(ctx, ex, square, n)
		if err != nil {
			b.Fatal(err)
		}
		futs = append(futs, f)
		n++
		if len(futs) == cap(futs) {
			for _, f := range futs {
				if _, err := f.Result(ctx); err != nil {
					b.Fatal(err)
				}
			}
			futs = futs[:0]
		}
	}
	for _, f := range futs {
		if _, err := f.Result(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "tasks/s")
}
