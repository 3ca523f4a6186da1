// Package process runs registered Go functions in helper processes: Go's
// answer to Python's ProcessPoolExecutor, for CPU-bound work that must not
// share a process (or a crash) with the caller.
//
// Go closures cannot cross a process boundary, so functions are registered
// by name in a Registry, at package level, so that the helper (by default
// this same program, started again) has the same registry:
//
//	var reg = process.NewRegistry()
//
//	var isPrime = process.MustRegister(reg, "isPrime", func(ctx context.Context, n int64) (bool, error) { ... })
//
//	func main() {
//		process.ServeIfHelper(reg) // in a helper: serve tasks, then exit
//		pool, err := process.New(reg)
//		...
//		f, err := executor.Call(ctx, pool, isPrime, 112272535095293)
//		ok, err := f.Result(ctx)
//	}
//
// Pool implements executor.Executor, so executor.Call, executor.CallChunk and
// package pool (map, imap_unordered, apply_async with chunking) work on it
// unchanged. A registered *Func also runs in-process (its Call method, or any
// executor.GoPool). Tests call ServeIfHelper in TestMain, since the test
// binary is the helper. WithHelper uses a separate helper binary instead,
// built from the same registrations, whose main calls Serve.
//
// # Protocol
//
// Arguments and results are gob-encoded on one persistent gob stream each way,
// in length-prefixed frames on their own pipes (file descriptors 3 and 4 in
// the helper), so a task's own standard output and error stay usable: the
// helper's stdout is the host's, and its stderr is forwarded line by line to
// the pool's zap logger with the helper's pid (and kept, in part, for error
// messages). A versioned handshake (protocol version, the helper's registry,
// its pid) makes a stale or foreign helper fail with a clear error. Several
// tasks are in flight per helper, so small tasks are not bound by the round
// trip; a chunk (executor.CallChunk) is one frame. Frames are limited in size
// (WithMaxFrameSize). Nothing a helper sends is trusted: bad bytes kill that
// helper, not the host.
//
// # Failures
//
//   - A task's error arrives as a *RemoteError with the error's type name,
//     message and the helper's stack; sentinels registered with
//     Registry.RegisterError keep working with errors.Is. A panic becomes an
//     *executor.PanicError with the value and the helper's stack, and the
//     helper lives on.
//   - An argument or result that gob cannot encode, or that is over the
//     frame limit, fails that task only (ErrEncode, ErrFrameTooLarge).
//   - A helper that exits, is killed or runs out of memory fails only the task
//     it was running, with a *WorkerError (matching executor.ErrWorkerDied)
//     naming the pid, the exit status or signal, and the tail of its stderr.
//     The tasks queued behind it are re-queued, and it is replaced.
//   - WithTaskTimeout kills the helper's whole process group when a task
//     overruns; the task fails with a *TimeoutError (matching
//     context.DeadlineExceeded).
//   - The pool is broken (executor.ErrBroken on every queued and later task)
//     only when helpers cannot start, fail the handshake, or their
//     initializer keeps failing.
//
// # Lifecycle
//
// New starts WithWorkers helpers (default runtime.NumCPU()).
// WithMaxTasksPerChild replaces a helper after n tasks; WithInitializer runs
// a registered function once in each helper. Shutdown drains (or, with
// executor.CancelPending, cancels queued tasks); Stop kills the helpers.
// Helpers never outlive the host: they are started with a parent-death
// signal (SIGKILL, even when the host itself is killed with SIGKILL) in their
// own process group, and they exit when their input pipe closes.
//
// In a helper, tasks run one at a time, in order, and receive a context that
// is never cancelled: a task is stopped by killing its helper (Stop,
// WithTaskTimeout).
//
// The package needs Linux (a parent-death signal, process groups, pipes on
// file descriptors 3 and 4).
//
// # Other remote executors
//
// EncodeCall, Registry.ServeCall and Registry.DecodeReply encode, run and
// decode one call as single self-contained messages with the same registry
// and the same errors, for executors that send messages rather than keep a
// stream (package cluster).
package process
