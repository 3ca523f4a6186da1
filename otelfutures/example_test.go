package otelfutures_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/otelfutures"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Wrap an executor, and every task gets a span, a child of the span of the
// ctx it was submitted with; Trace gives a fan-out a span that covers it.
// (A real program exports with an exporter, such as stdouttrace or OTLP,
// usually set as the global TracerProvider.)
func ExampleWrap() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ex, err := executor.NewGoPool()
	if err != nil {
		log.Fatal(err)
	}
	traced := otelfutures.Wrap(ex, otelfutures.WithTracerProvider(tp), otelfutures.WithExecutorName("squares"))

	ctx := context.Background()
	sum, err := otelfutures.Trace(ctx, traced, "sum of squares", func(ctx context.Context) (int, error) {
		sq := executor.Fn(func(_ context.Context, n int) (int, error) { return n * n, nil })
		total := 0
		for v, err := range executor.Map(ctx, traced, sq, func(yield func(int) bool) {
			for i := 1; i <= 3; i++ {
				if !yield(i) {
					return
				}
			}
		}) {
			if err != nil {
				return 0, err
			}
			total += v
		}
		return total, nil
	})
	_ = traced.Shutdown(ctx) // the spans of tasks end when they do: after Shutdown, all have
	fmt.Println(sum, err)

	var call sdktrace.ReadOnlySpan
	tasks := 0
	for _, s := range rec.Ended() {
		if s.Name() == "sum of squares" {
			call = s
		}
	}
	for _, s := range rec.Ended() {
		if s.Name() == "gofutures.task" && s.Parent().SpanID() == call.SpanContext().SpanID() {
			tasks++
		}
	}
	fmt.Println(tasks, "task spans under", call.Name())
	// Output:
	// 14 <nil>
	// 3 task spans under sum of squares
}
