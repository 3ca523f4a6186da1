package otelfutures_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gofutures/gofutures/otelfutures"
	"github.com/gofutures/gofutures/process"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

// The test binary is its own process helper: it restores the trace context
// of the calls it serves with the same propagator the tests inject with.
var prop = propagation.TraceContext{}

func TestMain(m *testing.M) {
	process.ServeIfHelper(reg, process.WithRestorer(otelfutures.NewRestorer(otelfutures.WithPropagators(prop))))
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

var (
	reg = process.NewRegistry()
	// inside starts a span in the task, where it runs (a goroutine, a
	// helper, a worker), and reports that span's parent: the proof that the
	// trace reached it.
	inside = process.MustRegister(reg, "otel.inside", func(ctx context.Context, _ int) (string, error) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample())) // no exporter: only its parent matters
		_, s := tp.Tracer("inside").Start(ctx, "http.get")
		defer s.End()
		p := s.(sdktrace.ReadOnlySpan).Parent()
		return fmt.Sprintf("%s/%s/%v", p.TraceID(), p.SpanID(), p.IsSampled()), nil
	})
	failing = process.MustRegister(reg, "otel.fail", func(_ context.Context, n int) (int, error) {
		if n < 0 {
			return 0, &badInput{n}
		}
		return n, nil
	})
	panicking = process.MustRegister(reg, "otel.panic", func(context.Context, int) (int, error) {
		panic("boom")
	})
	// waiting returns when its ctx ends, with the ctx's error.
	waiting = process.MustRegister(reg, "otel.wait", func(ctx context.Context, _ int) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
)

type badInput struct{ n int }

func (e *badInput) Error() string { return fmt.Sprintf("bad input %d", e.n) }

// parentOf formats sc as inside reports a parent.
func parentOf(sc trace.SpanContext) string {
	return fmt.Sprintf("%s/%s/%v", sc.TraceID(), sc.SpanID(), sc.IsSampled())
}
