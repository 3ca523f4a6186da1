// Package executor runs functions asynchronously and returns their results
// as futures (package future): Go's answer to Python's concurrent.futures
// executors.
//
// Executor is the interface every executor of this module implements: the
// goroutine pool of this package (GoPool, Python's ThreadPoolExecutor), the
// process pool (package process, ProcessPoolExecutor) and the cluster
// executor (package cluster). It is not generic; the typed entry points are
// free functions over it:
//
//   - Submit runs a closure and returns a *future.Future[R].
//   - Call runs a Func[A, R] on one argument. A Func is either a Go function
//     wrapped by Fn, which runs only in this process, or a function registered
//     by name (process.Register), which any executor can run, in this process,
//     in helper processes, or on other machines.
//   - CallChunk runs a Func over a slice of arguments as one task, which is
//     how package pool batches work and how remote executors send many
//     arguments in one message.
//   - Map is the lazy, ordered map with bounded read-ahead.
//
// # Context
//
// The ctx given to Submit, Call, CallChunk or Map is the task's own: the
// task runs with a context derived from it, on every executor, so values
// (in this process), the deadline and cancellation flow into the work, as
// with errgroup.WithContext. Stop cancels that context too, with cause
// ErrStopped. A task whose ctx ends before it starts never runs: its future
// fails with context.Cause(ctx) (a GoPool removes it from its queue at once).
// A running task sees ctx.Done() and its future gets what it returns (an
// error such as ctx.Err(), or a value: a task that succeeds after its ctx
// ended succeeds). Work that must outlive the caller, such as a background
// job started by a request handler, is submitted with
// context.WithoutCancel(ctx). Future.Cancel keeps Python's meaning: it
// cancels a task that has not started, and never interrupts a running one.
//
// # Retries and pacing
//
// Submit, Call, CallChunk and Map take CallOptions that act around
// Schedule, so they work the same on every executor: a retry policy
// (NewRetry: attempts, capped exponential backoff with jitter, a test of
// what is retryable, a dead worker retried only for idempotent functions;
// the final error a *RetryError), a rate (Rate, on golang.org/x/time/rate),
// and limits per key (NewKeyLimit: at most n tasks of a key at once and r
// per second, so that a host that rate-limits is paced without a second
// pool). Each attempt is a task for the executor and its hooks;
// Hooks.Retried counts the retries.
//
// Every executor shuts down gracefully with Shutdown (optionally cancelling
// work that has not started) or at once with Stop; both are idempotent, and
// afterwards scheduling fails with ErrShutdown.
//
// # Writing or wrapping an executor
//
// The Task an Executor's Schedule receives, the Remote form a task takes to
// run in another process, and the interfaces that carry context metadata
// there (Carrier, Restorer) are in package executor/driver, which is for
// those who write or wrap an executor. Code that uses executors needs only
// this package.
package executor
