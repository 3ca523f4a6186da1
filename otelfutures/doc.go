// Package otelfutures traces the tasks of gofutures executors with
// OpenTelemetry: one span per task, a child of the span of the ctx it was
// submitted with, on every executor, and the trace continues in the process
// that runs it (a process helper, a cluster worker), so the spans a task
// starts there, such as an HTTP client call's, are children of the task's
// span. The core packages of gofutures do not depend on OpenTelemetry; this
// package plugs into them through the seam of driver.Carrier and
// driver.Restorer.
//
// # Use
//
// In the submitting process, wrap the executor; use the wrapper wherever the
// executor was used (executor.Call, Submit, Map, package pool):
//
//	ex, err := process.New(reg)
//	traced := otelfutures.Wrap(ex) // global TracerProvider and TextMapPropagator
//	f, err := executor.Call(ctx, traced, render, page)
//
// In a process that runs tasks for another, install the Restorer, which
// gives the trace context that came with a call to the task's ctx:
//
//	func main() {
//		process.ServeIfHelper(reg, process.WithRestorer(otelfutures.NewRestorer()))
//		cluster.ServeIfWorker(reg, cluster.WithRestorer(otelfutures.NewRestorer()))
//		...
//	}
//
// Trace gives a call of package pool (Map, Imap, Apply...) a span that
// covers it, the parent of the spans of its tasks:
//
//	res, err := otelfutures.Trace(ctx, traced, "pool.Map isPrime", func(ctx context.Context) ([]bool, error) {
//		return pool.Map(ctx, p, isPrime, numbers)
//	})
//
// As OpenTelemetry's own instrumentations do, the defaults are the global
// TracerProvider and TextMapPropagator (otel.GetTracerProvider,
// otel.GetTextMapPropagator), read when Wrap or NewRestorer is called and
// following later otel.Set... calls. The global propagator propagates
// nothing until it is set: call
// otel.SetTextMapPropagator(propagation.TraceContext{}) (or pass
// WithPropagators) in the submitting process and in the helpers, or the
// helpers' spans start traces of their own.
//
// # Spans
//
// A task's span is named after its registered function ("gofutures.task
// isPrime"), or "gofutures.task" for a closure. Its kind is internal on a
// GoPool and client on a remote executor. It starts when the task is
// scheduled and ends when its future completes (or, for a task that is
// retried, when this attempt failed: each attempt is a span), and has:
//
//   - gofutures.executor.name, gofutures.executor.kind ("gopool",
//     "process", "cluster", or the executor's Go type);
//   - code.function.name: the registered name of the function;
//   - gofutures.task.attempt: 1, or more for a retry (executor.NewRetry:
//     each attempt is a span of its own); gofutures.chunk.size for
//     a chunk (executor.CallChunk, package pool);
//   - an event gofutures.task.start when a worker takes the task (on a
//     process.Executor: when it is handed to a helper), and
//     gofutures.task.run when a helper says it starts it, with the
//     helper's process.pid;
//   - at its end gofutures.task.outcome (executor.Outcome's labels: "ok",
//     "error", "panic", "cancelled", "timeout", "worker_died", "stopped";
//     "rejected" when Schedule refused the task), gofutures.task.wait
//     and gofutures.task.run (seconds: from scheduling to the start, and from
//     the start to the end); for a chunk with failed items
//     gofutures.chunk.failed;
//   - for a failure, the status Error, the error recorded as an exception
//     event, and error.type: the error's Go type (for an error from a helper
//     or worker, the type it had there, process.RemoteError.Type), "panic"
//     for a panic (with its stack as exception.stacktrace), "timeout" and
//     "cancelled" for a ctx that ended.
//
// # Cost
//
// An executor that is not wrapped costs nothing: no metadata is sent, no
// header is added. A wrapped GoPool whose sampler drops the task's span pays
// one non-recording span and its context per task; a recorded span costs
// the span, a wrapper (one allocation) and its attributes, and on a remote
// executor the injection of the trace context (a small map, sent with the
// call).
package otelfutures
