package otelfutures

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of this package's own namespace, where the semantic
// conventions have none.
const (
	executorName = attribute.Key("gofutures.executor.name")
	executorKind = attribute.Key("gofutures.executor.kind")
	attempt      = attribute.Key("gofutures.task.attempt")
	outcomeKey   = attribute.Key("gofutures.task.outcome")
	waitKey      = attribute.Key("gofutures.task.wait")
	runKey       = attribute.Key("gofutures.task.run")
	chunkSize    = attribute.Key("gofutures.chunk.size")
	chunkFailed  = attribute.Key("gofutures.chunk.failed")
)

// Event names.
const (
	eventStart = "gofutures.task.start" // a worker took the task
	eventRun   = "gofutures.task.run"   // a helper started it
)

// task wraps a scheduled task: its methods pass through and end the span
// when the task ends, whichever way it ends (it ran; it failed, was
// cancelled, was stopped before it ran; its remote form finished). The span
// ends once.
type task struct {
	t     driver.Task
	r     driver.Remote // nil for a closure
	e     *Executor
	span  trace.Span
	md    map[string]string // the trace context a remote task carries
	begin time.Time

	startAt atomic.Int64 // UnixNano when a worker took it, 0 before
	runAt   atomic.Int64 // UnixNano when a helper started it, 0 if none said
	ended   atomic.Bool
}

func newTask(e *Executor, t driver.Task, r driver.Remote, span trace.Span) *task {
	return &task{t: t, r: r, e: e, span: span, begin: time.Now()}
}

func (w *task) Start() bool {
	if !w.t.Start() {
		// Cancelled (Future.Cancel) or failed before it started.
		w.end(future.ErrCancelled, nil)
		return false
	}
	now := time.Now()
	w.startAt.Store(now.UnixNano())
	w.span.AddEvent(eventStart, trace.WithTimestamp(now))
	return true
}

func (w *task) Run(ctx context.Context) error {
	returned := false
	defer func() {
		if !returned { // runtime.Goexit: the future failed with a *PanicError
			w.end(&executor.PanicError{Value: "runtime.Goexit called in task", Goexit: true}, nil)
		}
	}()
	err := w.t.Run(ctx)
	returned = true
	w.end(err, nil)
	return err
}

func (w *task) Fail(err error) bool {
	if w.t.Fail(err) {
		w.end(err, nil)
		return true
	}
	// Done already: by a path of ours (the span has ended), or cancelled
	// with Future.Cancel.
	w.end(future.ErrCancelled, nil)
	return false
}

func (w *task) Cancel() bool {
	if w.t.Cancel() {
		w.end(future.ErrCancelled, nil)
		return true
	}
	return false
}

func (w *task) Remote() driver.Remote {
	if w.r == nil {
		return nil
	}
	return (*remote)(w)
}

// remote is the Remote of a wrapped task: it carries the trace context and
// learns where the task runs.
type remote task

var (
	_ driver.Task          = (*task)(nil)
	_ driver.Remote        = (*remote)(nil)
	_ driver.Carrier       = (*remote)(nil)
	_ driver.StartNotifier = (*remote)(nil)
)

func (r *remote) FuncName() string                   { return r.r.FuncName() }
func (r *remote) Chunk() bool                        { return r.r.Chunk() }
func (r *remote) Args() any                          { return r.r.Args() }
func (r *remote) Result() any                        { return r.r.Result() }
func (r *remote) ContextMetadata() map[string]string { return r.md }

// Finish ends the span first, so that it has ended when the future's
// waiters wake.
func (r *remote) Finish(err error, itemErrs []error) {
	(*task)(r).end(err, itemErrs)
	r.r.Finish(err, itemErrs)
}

func (r *remote) StartedOn(worker string) {
	now := time.Now()
	r.runAt.Store(now.UnixNano())
	var a attribute.KeyValue
	if pid, err := strconv.Atoi(worker); err == nil && r.e.kind == "process" {
		a = semconv.ProcessPID(pid)
	} else {
		a = attribute.String("gofutures.worker.id", worker)
	}
	r.span.AddEvent(eventRun, trace.WithTimestamp(now), trace.WithAttributes(a))
	r.span.SetAttributes(a)
}

// endRejected ends the span of a task the wrapped executor refused.
func (w *task) endRejected(err error) {
	if !w.ended.CompareAndSwap(false, true) {
		return
	}
	w.span.SetAttributes(outcomeKey.String("rejected"), semconv.ErrorTypeKey.String(errorType(err, executor.OutcomeOf(err))))
	w.span.RecordError(err)
	w.span.SetStatus(codes.Error, err.Error())
	w.span.End()
}

// end ends the span with the task's outcome: err fails the whole task;
// itemErrs are a chunk's per-item errors.
func (w *task) end(err error, itemErrs []error) {
	if !w.ended.CompareAndSwap(false, true) {
		return
	}
	now := time.Now()
	failed := 0
	first := err
	for _, e := range itemErrs {
		if e != nil {
			failed++
			if first == nil {
				first = e
			}
		}
	}
	o := executor.OutcomeOf(first)
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, outcomeKey.String(o.String()))
	if started := w.started(); started != 0 {
		attrs = append(attrs,
			waitKey.Float64(time.Duration(started-w.begin.UnixNano()).Seconds()),
			runKey.Float64(time.Duration(now.UnixNano()-started).Seconds()))
	}
	if failed > 0 {
		attrs = append(attrs, chunkFailed.Int(failed))
	}
	if first != nil {
		et := errorType(first, o)
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
		var ev []attribute.KeyValue
		var pe *executor.PanicError
		if errors.As(first, &pe) && len(pe.Stack) > 0 {
			ev = append(ev, semconv.ExceptionStacktrace(string(pe.Stack)))
		}
		w.span.RecordError(first, trace.WithTimestamp(now), trace.WithAttributes(ev...))
		w.span.SetStatus(codes.Error, first.Error())
	}
	w.span.SetAttributes(attrs...)
	w.span.End(trace.WithTimestamp(now))
}

// started returns when the task started running, as best known: when its
// helper said so, or when a worker took it; 0 if it never started.
func (w *task) started() int64 {
	if t := w.runAt.Load(); t != 0 {
		return t
	}
	return w.startAt.Load()
}

// errorType is the error.type of a task's error: low-cardinality, and the
// type the error had where it happened.
func errorType(err error, o executor.Outcome) string {
	switch o {
	case executor.OutcomeTimeout:
		return "timeout"
	case executor.OutcomeCancelled:
		return "cancelled"
	case executor.OutcomePanic:
		return "panic"
	}
	var re *process.RemoteError
	if errors.As(err, &re) && re.Type != "" {
		return re.Type
	}
	return semconv.ErrorType(err).Value.AsString()
}
