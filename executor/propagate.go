package executor

import "context"

// This file is the seam through which an instrumentation (package
// otelfutures, for OpenTelemetry) carries context metadata, such as a trace
// context, with a task into the process that runs it, without this module's
// core depending on it. An instrumentation wraps an Executor: the Remote of
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

// Attempter is implemented by the tasks of Submit, Call, CallChunk and Map:
// Attempt says which attempt of the task a Schedule is (1 for the first; a
// retry policy schedules the same task again). Instrumentation that wraps
// an executor reads it.
type Attempter interface {
	Attempt() int
}
