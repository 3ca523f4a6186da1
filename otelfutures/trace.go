package otelfutures

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Trace runs fn with a ctx that carries a new span named name, a child of
// ctx's, which covers the call: the span of a call of package pool (Map,
// Imap, Apply...) or of any other fan-out, the parent of the spans of the
// tasks fn schedules. The span has ex's executor name and kind and is made
// by ex's TracerProvider; with a nil ex, by the global one. If fn returns
// an error, the span records it (status Error, error.type) and Trace
// returns it. Trace blocks while fn runs; the span ends when fn returns or
// panics.
func Trace[T any](ctx context.Context, ex *Executor, name string, fn func(context.Context) (T, error)) (T, error) {
	var span trace.Span
	if ex != nil {
		ctx, span = ex.tracer.Start(ctx, name, trace.WithAttributes(ex.attrs...))
	} else {
		ctx, span = otel.GetTracerProvider().Tracer(ScopeName).Start(ctx, name)
	}
	defer span.End()
	v, err := fn(ctx)
	if err != nil {
		span.SetAttributes(semconv.ErrorType(err))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return v, err
}
