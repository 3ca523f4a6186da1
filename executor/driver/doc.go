// Package driver is the contract between the typed functions of package
// executor (Submit, Call, CallChunk, Map) and the executors that run their
// tasks, and the seam through which instrumentation carries context to
// other processes. Most code should use package executor; this package is
// for those who write an executor (process.Executor and cluster.Executor
// are written on it), wrap one (package otelfutures does, to trace every
// task), or restore carried context in a helper process or worker.
//
// An executor implements executor.Executor: its Schedule method receives
// a Task, whose future is already attached, runs it (Start, then Run) or
// fails it (Fail), and, to run it in another process, encodes its Remote
// form: the registered name of its function and its arguments. Its
// Shutdown method reads its options with ShutdownSettings.
package driver
