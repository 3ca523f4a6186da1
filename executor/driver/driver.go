package driver

import "context"

// Task is one unit of work as an executor sees it: not generic, with its
// future already attached. Tasks are made by executor.Submit, executor.Call,
// executor.CallChunk and executor.Map; an executor receives them in its
// Schedule method (executor.Executor). Its methods are safe for concurrent
// use.
type Task interface {
	// Start moves the task's future from pending to running and reports
	// true; it reports false if the future was cancelled (or already
	// failed), in which case the executor must skip the task.
	Start() bool
	// Run runs the task in the calling goroutine, recovers a panic into a
	// *executor.PanicError, completes the future and returns the task's
	// error. Call it once, after Start returned true. If the task calls
	// runtime.Goexit, Run fails the future with a *executor.PanicError whose
	// Goexit is set and does not return: the goroutine exits, and the
	// executor must notice (a deferred "returned normally" flag) and account
	// for the task and the goroutine.
	Run(ctx context.Context) error
	// Fail completes the future with err unless it is done already, and
	// reports whether it did.
	Fail(err error) bool
	// Cancel cancels the future if it is still pending.
	Cancel() bool
	// Remote returns the form of the task that can run in another process,
	// or nil if it is a Go closure or an unregistered function.
	Remote() Remote
}

// Remote is a task described by the registered name of its function and its
// arguments, so that process and cluster executors can encode it, run it
// elsewhere and complete the future from the encoded result.
type Remote interface {
	// FuncName is the registered name of the function.
	FuncName() string
	// Chunk reports whether Args is a slice of arguments ([]A) to apply the
	// function to one by one, giving a slice of results ([]R).
	Chunk() bool
	// Args returns the value to encode: the argument (A) or, for a chunk,
	// the arguments ([]A).
	Args() any
	// Result returns the pointer to decode the result into: *R, or *[]R for
	// a chunk.
	Result() any
	// Finish completes the future. err fails the whole task; otherwise the
	// value decoded into Result is the outcome, and for a chunk itemErrs, if
	// not nil, holds one error (or nil) per argument.
	Finish(err error, itemErrs []error)
}

// Named is implemented by the executor.Funcs registered by name
// (process.Register); remote executors send
// the name.
type Named interface {
	FuncName() string
}

// The interfaces below are the seam through which an instrumentation (package
// otelfutures, for OpenTelemetry) carries context metadata, such as a trace
// context, with a task into the process that runs it, without this module's
// core depending on it. An instrumentation wraps an executor.Executor: the Remote of
// the tasks it schedules implements Carrier (and, if it wants to know where
// it ran, StartNotifier); the helper processes and cluster workers are given
// a Restorer (process.WithRestorer, cluster.WithRestorer). Without one,
// nothing is sent and nothing is restored: the type assertions are the
// whole cost.

// Carrier is implemented by a Remote that carries context metadata (for
// OpenTelemetry, the W3C traceparent, tracestate and baggage of the submit
// ctx) to the process that runs it. Remote executors (process.Executor, the
// cluster executor) send ContextMetadata with the call, and the helper or
// worker hands it to its Restorer before it runs the function. It is called
// when the task is sent, maybe more than once (a task sent again), from the
// executor's goroutines: it must be quick, and the map must not change once
// Schedule was called. A nil or empty map sends nothing. Entries over the
// wire's bounds (32 entries, keys of 256 bytes, values of 8 KiB, 16 KiB in
// all) are dropped.
type Carrier interface {
	ContextMetadata() map[string]string
}

// Restorer restores, in the process that runs a remote task (a helper
// process, a cluster worker), the context metadata its Carrier sent: it
// returns the ctx the function runs with, derived from ctx (for
// OpenTelemetry, with the remote span context of the task's span, so that
// the spans the function starts are its children). It is called only for
// tasks that carried metadata, from the goroutine that runs the task, and
// must be safe for concurrent use. md is the task's own: it may be kept.
type Restorer interface {
	RestoreContext(ctx context.Context, md map[string]string) context.Context
}

// StartNotifier is implemented by a Remote that wants to know when, and
// where, it started running in another process: process.Executor calls
// StartedOn with the helper's pid (in decimal) when the helper says it
// starts the call. It may be called again if the task runs again elsewhere
// (a helper that died before it started the call). It must be quick.
type StartNotifier interface {
	StartedOn(worker string)
}

// Attempter is implemented by the tasks of executor.Submit, Call, CallChunk
// and Map:
// Attempt says which attempt of the task a Schedule is (1 for the first; a
// retry policy schedules the same task again). Instrumentation that wraps
// an executor reads it.
type Attempter interface {
	Attempt() int
}

// ShutdownOption configures an executor's Shutdown; executor.CancelPending
// makes the one there is.
type ShutdownOption func(*ShutdownConfig)

// ShutdownConfig is what ShutdownOptions set.
type ShutdownConfig struct {
	// CancelPending: cancel work that has not started.
	CancelPending bool
}

// ShutdownSettings applies opts, in the Shutdown method of an executor.
func ShutdownSettings(opts ...ShutdownOption) ShutdownConfig {
	var c ShutdownConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}
