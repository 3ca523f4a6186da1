package process_test

import (
	"context"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

func benchPool(b *testing.B, opts ...process.Option) *process.Executor {
	p, err := process.New(reg, append([]process.Option{process.WithWorkers(2)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	// Wait for both helpers.
	for len(p.Pids()) < 2 {
		f, err := executor.Call(context.Background(), p, incFn, 0)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = f.Result(context.Background())
	}
	return p
}

// addInFlight appends f to fs and, once fs is full (cap(fs) futures in
// flight), waits for them all and empties it.
func addInFlight[T any](ctx context.Context, b *testing.B, fs []*future.Future[T], f *future.Future[T]) []*future.Future[T] {
	if fs = append(fs, f); len(fs) < cap(fs) {
		return fs
	}
	for _, f := range fs {
		if _, err := f.Result(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return fs[:0]
}

// BenchmarkSubmit: trivial tasks, one per Call, 1000 in flight at a time.
func BenchmarkSubmit(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	b.ReportAllocs()
	fs := make([]*future.Future[int], 0, 1000)
	i := 0
	for b.Loop() {
		f, err := executor.Call(ctx, p, incFn, i)
		if err != nil {
			b.Fatal(err)
		}
		fs = addInFlight(ctx, b, fs, f)
		i++
	}
	for _, f := range fs {
		_, _ = f.Result(ctx)
	}
}

// BenchmarkRoundTrip: one trivial task at a time (latency).
func BenchmarkRoundTrip(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f, err := executor.Call(ctx, p, incFn, 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Result(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunk1000: chunks of 1000 trivial tasks; reports tasks/s.
func BenchmarkChunk1000(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	args := make([]int, 1000)
	for i := range args {
		args[i] = i
	}
	b.ReportAllocs()
	fs := make([]*future.Future[executor.Chunk[int]], 0, 8)
	for b.Loop() {
		f, err := executor.CallChunk(ctx, p, incFn, args)
		if err != nil {
			b.Fatal(err)
		}
		fs = addInFlight(ctx, b, fs, f)
	}
	for _, f := range fs {
		_, _ = f.Result(ctx)
	}
	b.ReportMetric(float64(b.N*len(args))/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkStartup: start 2 helpers, run one task, shut down.
func BenchmarkStartup(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := process.New(reg, process.WithWorkers(2))
		if err != nil {
			b.Fatal(err)
		}
		f, err := executor.Call(ctx, p, incFn, 1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Result(ctx); err != nil {
			b.Fatal(err)
		}
		if err := p.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
