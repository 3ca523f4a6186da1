package otelfutures_test

import (
	"context"
	"testing"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/otelfutures"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discard is a span processor that drops what it is given: the cost
// measured is making and ending the spans, not exporting them.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

// BenchmarkOverhead measures a trivial task on a GoPool, submitted in
// batches of 256 and waited for, as gopoolbench does: not traced, traced
// with a sampler that drops every span, and traced with every span
// recorded. The ratios of the last two to the first are the overhead.
func BenchmarkOverhead(b *testing.B) {
	inc := executor.Fn(func(_ context.Context, n int) (int, error) { return n + 1, nil })
	for _, bc := range []struct {
		name string
		wrap func(executor.Executor) executor.Executor
	}{
		{"bare", func(ex executor.Executor) executor.Executor { return ex }},
		{"drop", func(ex executor.Executor) executor.Executor {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(discard{}))
			return otelfutures.Wrap(ex, otelfutures.WithTracerProvider(tp))
		}},
		{"record", func(ex executor.Executor) executor.Executor {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discard{}))
			return otelfutures.Wrap(ex, otelfutures.WithTracerProvider(tp))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			gp, err := executor.NewGoPool(executor.WithWorkers(4))
			if err != nil {
				b.Fatal(err)
			}
			defer gp.Shutdown(context.Background())
			ex := bc.wrap(gp)
			ctx := context.Background()
			fs := make([]*future.Future[int], 0, 256)
			wait := func() {
				for _, f := range fs {
					if _, err := f.Result(ctx); err != nil {
						b.Fatal(err)
					}
				}
				fs = fs[:0]
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f, err := executor.Call(ctx, ex, inc, i)
				if err != nil {
					b.Fatal(err)
				}
				i++
				if fs = append(fs, f); len(fs) == cap(fs) {
					wait()
				}
			}
			wait()
		})
	}
}
