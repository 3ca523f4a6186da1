package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// BenchmarkCall: one task per message through the embedded server and a
// worker in this process (memory storage), submitted in batches of 1000:
// with context.Background(), with a cancellable ctx (what that costs: a
// watch on the ctx) and with one that has a deadline too (a header, and a
// timer on the worker).
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	ex, err := New(ctx, testReg, WithToken(testToken), WithStorage(MemoryStorage), WithStoreDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ex.Stop(ctx) }()
	w, err := NewWorker(testReg, WithURL(ex.URL()), WithToken(testToken))
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	b.Run("background", func(b *testing.B) { benchCall(b, ex, ctx) })
	cctx, cancelC := context.WithCancel(ctx)
	defer cancelC()
	b.Run("cancellable", func(b *testing.B) { benchCall(b, ex, cctx) })
	dctx, cancelD := context.WithTimeout(ctx, time.Hour)
	defer cancelD()
	b.Run("deadline", func(b *testing.B) { benchCall(b, ex, dctx) })
}

func benchCall(b *testing.B, ex *Executor, ctx context.Context) {
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
