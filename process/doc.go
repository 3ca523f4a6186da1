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
//		ex, err := process.New(reg)
//		...
//		f, err := executor.Call(ctx, ex, isPrime, 112272535095293)
//		ok, err := f.Result(ctx)
//	}
//
// An Executor implements executor.Executor, so executor.Call, executor.CallChunk and
// package pool (map, imap_unordered, apply_async with chunking) work on it
// unchanged. A registered *Func also runs in-process (its Call method, or any
// executor.GoPool). Tests call ServeIfHelper in TestMain, since the test
// binary is the helper. WithHelper uses a separate helper binary instead,
// built from the same registrations, whose main calls Serve.
//
// # Protocol
//
// Arguments and results are gob-encoded on one persistent gob stream each way
// (a result of a predeclared type, such as an int, a float64, a string or a
// []byte, goes as its bytes, without the cost of a gob message),
// in length-prefixed frames on their own pipes (file descriptors 3 and 4 in
// the helper), so a task's own standard output and error stay usable: the
// helper's stdout is the host's, and its stderr is forwarded line by line to
// the executor's zap logger with the helper's pid (and kept, in part, for error
// messages). A versioned handshake (protocol version, the helper's registry,
// its pid) makes a stale or foreign helper fail with a clear error. Several
// calls are in flight per helper, so small tasks are not bound by the round
// trip; a chunk (executor.CallChunk) is one call. Calls to one function
// queued together with the same ctx go to a helper in one frame, their
// arguments one gob value, and each is still started, replied to and
// cancelled on its own. Frames are limited in size
// (WithMaxFrameSize). Nothing a helper sends is trusted: bad frames kill that
// helper, not the host.
//
// The host always knows what a helper was doing when it died. A helper runs
// its calls one at a time, in the order sent, and before it takes a call it
// puts every reply still buffered and a started marker for that call into a
// journal: memory it shares with the host (a memfd both map), so a copy and
// no system call. A goroutine of the helper writes the journal's frames to
// the pipe as they come, several per write when they come faster than it
// writes: replies leave as soon as each call returns, small tasks still
// batch. When a helper dies, the host reads the pipe to its end and then the
// frames of the journal the pipe did not bring. So it has the reply of every
// call the helper finished, even one that returned just before the helper
// died; the one call with a started marker and no reply is the call that was
// running, and it alone fails (with a *WorkerError, or a *TimeoutError: the
// task timeout counts from its started marker); calls without a marker never
// started, and they go back to the front of the queue, to run once,
// elsewhere. (A helper that broke the stream itself, with bytes that are not
// frames, has the next call presumed started: it fails rather than run
// twice. Where memfd_create is refused, a helper has no journal and writes
// its replies before each call: the same guarantees, a system call per call.)
//
// How many calls a helper is sent ahead is set by their run time, measured
// between marker and reply: about a millisecond's worth (at most
// WithMaxInFlight), and only one until a run time is known, so that long tasks of unknown length spread over every
// helper (including those still starting) instead of queueing behind each
// other on the first one ready.
//
// A call whose arguments the helper cannot decode whole (an unregistered
// concrete type in an interface, a failing GobDecode) fails with ErrEncode,
// and only that call: the calls of a frame of several that cannot be
// encoded or decoded together do not run, and go again one per frame. Then
// the helper, whose gob stream has lost its place, skips the calls
// behind it without running them until the host starts a new stream, and the
// host sends those calls again. A result the host cannot decode fails its
// task with ErrEncode, and the host asks the helper for a new reply stream.
// After a frame over a megabyte, each side starts a new stream and lets its
// buffers go, so one large argument does not keep its memory.
//
// # Failures
//
//   - A task's error arrives as a *RemoteError with the error's type name,
//     message and the helper's stack; sentinels registered with
//     Registry.RegisterError keep working with errors.Is. A panic becomes an
//     *executor.PanicError with the value and the helper's stack, and the
//     helper lives on.
//   - An argument or result that gob cannot encode or decode, or that is
//     over the frame limit, fails that task only (ErrEncode,
//     ErrFrameTooLarge).
//   - A helper that exits, is killed or runs out of memory fails only the task
//     it was running, with a *WorkerError (matching executor.ErrWorkerDied)
//     naming the pid, the exit status or signal, and the tail of its stderr.
//     The calls sent to it that had not started run elsewhere, once, and it
//     is replaced; a helper that died young (before it finished a call) is
//     replaced after a backoff that doubles from 10ms up to 1s. Such a task
//     is retried by an executor.Retry policy only if its function was
//     registered with Idempotent: it may have had its effects.
//   - WithTaskTimeout kills the helper's whole process group when a task
//     overruns; the task fails with a *TimeoutError (matching
//     context.DeadlineExceeded).
//   - The pool is broken (executor.ErrBroken on every queued and later task)
//     only when helpers cannot start: three in a row exit before the
//     handshake, fail it, or fail their initializer, or ten in a row are
//     killed by a signal before it (which says nothing about the binary, so
//     it counts apart). The error says which, with the exit status or signal.
//
// # Lifecycle
//
// A pool has WithWorkers helpers (default runtime.NumCPU()). New starts
// one and returns without waiting for it; the others start as soon as
// tasks wait that the helpers already starting will not take, or once the
// first one is ready: helpers that start at the same time compete for the
// CPU while each one loads and initialises its program, so a pool that
// runs one task soon after New waits for one helper's start only. A
// helper runs one task at a time, so it runs with its share of the host's
// GOMAXPROCS (see WithWorkers) unless the environment sets GOMAXPROCS.
// WithMaxTasksPerChild replaces a helper after n tasks; WithInitializer runs
// a registered function once in each helper. Shutdown drains (or, with
// executor.CancelPending, cancels queued tasks) and does not wait for a
// helper that is still starting when nothing is queued: it kills it (unless
// the pool has an initializer, which may be running there); Stop kills the
// helpers.
// Helpers never outlive the host, and neither do the processes their tasks
// start: each helper leads its own process group and is started with a
// parent-death signal (SIGTERM, delivered even when the host is killed with
// SIGKILL), on which it kills its whole group; it also exits when its input
// pipe closes. New refuses to run in a process that an Executor started as its
// helper, so a program that forgot ServeIfHelper fails with an error that
// says so instead of starting helpers without end.
//
// # Context
//
// The ctx given to executor.Call (or CallChunk, or package pool) reaches the
// task in its helper: its deadline travels with the call, so ctx.Deadline()
// there is the caller's (without one, WithTaskTimeout sets it, from the
// task's start), and when the caller's ctx ends the host sends a cancel frame
// and the helper cancels the call's ctx with the same cause
// (context.Canceled or context.DeadlineExceeded; values do not cross the
// process boundary). A task that honours its ctx returns and keeps its
// helper; one that has not returned a grace later (WithCancelGrace, 1s by
// default) has its helper's process group killed and fails with the ctx's
// cause. A task whose ctx ends before it started does not run: if it waits
// in the queue its future fails at once; if it was already sent to a busy
// helper, the helper skips it when its turn comes (a cancel that reaches the
// helper only as the call starts is delivered to the running call instead). Call with a ctx that has already ended
// returns its cause and schedules nothing. Work that must outlive the caller
// is submitted with context.WithoutCancel(ctx). In a helper, tasks run one at
// a time, in order; Stop kills the helpers.
//
// A task whose Remote carries context metadata (driver.Carrier: a trace
// context, from an executor wrapped by package otelfutures) sends it in the
// call frame; a helper served with WithRestorer restores it into the call's
// ctx, so the trace continues in the helper. Without them nothing is sent.
//
// The package needs Linux (a parent-death signal, process groups, pipes on
// file descriptors 3 and 4).
//
// # A dedicated helper binary
//
// By default a helper is the host program itself, so each helper loads and
// initialises all of it (every imported package's init runs again) before
// it serves: a large program starts its helpers slowly. WithHelper starts
// another binary instead, one that contains only the registrations:
//
//   - register the functions in a package of their own that imports
//     package process and what the functions need, nothing of the host;
//   - build a helper whose main is process.Serve(thatpackage.Registry);
//   - in the host, process.New(thatpackage.Registry,
//     process.WithHelper(path)), with the path of the helper binary (ship
//     it beside the host).
//
// At the handshake the host checks that the helper has each of its
// functions with the same types; a helper that does not fails with
// ErrHandshake and the pool is broken. examples/lean-helper does all this
// (its test builds the helper and checks that it links none of the host's
// dependencies). What package process imports comes along into every
// helper (go version -m lists what a binary links): it logs through
// zapcore, not package zap, so net/http and crypto/tls do not (a helper
// that links them reaches main about 4.5 ms later on a 2-core machine);
// bench/cmd/startupprobe
// in the bench module shows where a helper's start goes, part by part (its
// -helper and -lean flags measure a dedicated binary).
//
// Package cluster sends the same calls as single self-contained messages,
// with the same registry and the same errors, through plumbing of this
// module that this package does not export.
package process
