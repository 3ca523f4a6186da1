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
// Every executor shuts down gracefully with Shutdown (optionally cancelling
// work that has not started) or at once with Stop; both are idempotent, and
// afterwards scheduling fails with ErrShutdown.
package executor
