package otelfutures

import (
	"context"
	"reflect"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans this package makes.
const ScopeName = "github.com/gofutures/gofutures/otelfutures"

// Executor is an executor.Executor that traces the tasks it schedules on
// the executor it wraps (see the package documentation for the spans). Make
// one with Wrap and use it in place of the wrapped executor; its Shutdown,
// Stop and Workers are the wrapped executor's. All methods are safe for
// concurrent use.
type Executor struct {
	ex     executor.Executor
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	kind   string
	remote bool // tasks run in another process: inject the trace context
	sk     trace.SpanKind
	attrs  []attribute.KeyValue // of every span: the executor's name and kind
	start  []trace.SpanStartOption
}

var _ executor.Executor = (*Executor)(nil)

// Wrap returns an Executor that traces the tasks scheduled on it and runs
// them on ex. The tracer and propagator are read from the options (defaults:
// the global ones) once, here. It does not block.
func Wrap(ex executor.Executor, opts ...WrapOption) *Executor {
	cfg := newConfig()
	for _, o := range opts {
		o.applyWrap(&cfg)
	}
	kind := kindOf(ex)
	if cfg.name == "" {
		cfg.name = kind
	}
	e := &Executor{
		ex:     ex,
		tracer: cfg.tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		prop:   cfg.prop,
		kind:   kind,
		remote: kind != "gopool",
		sk:     trace.SpanKindClient,
		attrs:  []attribute.KeyValue{executorName.String(cfg.name), executorKind.String(kind)},
	}
	if !e.remote {
		e.sk = trace.SpanKindInternal
	}
	e.start = []trace.SpanStartOption{trace.WithSpanKind(e.sk), trace.WithAttributes(e.attrs...)} // made once, not per task
	return e
}

// kindOf names the executor's kind without importing the packages that
// define them (package cluster would bring NATS into every program).
func kindOf(ex executor.Executor) string {
	switch t := reflect.TypeOf(ex).String(); t {
	case "*executor.GoPool":
		return "gopool"
	case "*process.Executor":
		return "process"
	case "*cluster.Executor":
		return "cluster"
	default:
		return t
	}
}

// Unwrap returns the executor e runs its tasks on.
func (e *Executor) Unwrap() executor.Executor { return e.ex }

// Schedule implements executor.Executor: it starts the task's span, a child
// of ctx's, and schedules t on the wrapped executor with a ctx that carries
// the span, so that the task's own spans are its children (in a helper or on
// a worker, through the trace context t carries, see NewRestorer). If the
// wrapped executor refuses t, the span ends at once with the error and the
// outcome "rejected". It blocks as the wrapped executor's Schedule does.
func (e *Executor) Schedule(ctx context.Context, t driver.Task) error {
	if ctx == nil {
		panic("otelfutures: nil Context")
	}
	r := t.Remote()
	name := "gofutures.task"
	if r != nil {
		name = "gofutures.task " + r.FuncName()
	}
	ctx, span := e.tracer.Start(ctx, name, e.start...)
	if !span.IsRecording() && (!e.remote || r == nil) {
		// Nothing to record, nothing to carry: the ctx still holds the
		// span context, the parent of the task's own spans.
		return e.ex.Schedule(ctx, t)
	}
	w := newTask(e, t, r, span)
	if span.IsRecording() {
		n := 1
		if a, ok := t.(driver.Attempter); ok {
			n = a.Attempt()
		}
		span.SetAttributes(attempt.Int(n))
		if r != nil {
			span.SetAttributes(semconv.CodeFunctionName(r.FuncName()))
			if r.Chunk() {
				if v := reflect.ValueOf(r.Args()); v.Kind() == reflect.Slice {
					span.SetAttributes(chunkSize.Int(v.Len()))
				}
			}
		}
	}
	if e.remote && r != nil {
		md := make(map[string]string, 2)
		e.prop.Inject(ctx, propagation.MapCarrier(md))
		if len(md) > 0 {
			w.md = md
		}
	}
	if err := e.ex.Schedule(ctx, w); err != nil {
		w.endRejected(err)
		return err
	}
	return nil
}

// Shutdown implements executor.Executor: it shuts the wrapped executor down.
func (e *Executor) Shutdown(ctx context.Context, opts ...driver.ShutdownOption) error {
	return e.ex.Shutdown(ctx, opts...)
}

// Stop implements executor.Executor: it stops the wrapped executor.
func (e *Executor) Stop(ctx context.Context) error { return e.ex.Stop(ctx) }

// Workers implements executor.Executor: the wrapped executor's.
func (e *Executor) Workers() int { return e.ex.Workers() }
