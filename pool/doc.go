// Package pool gives Go the whole surface of Python's multiprocessing.Pool,
// over any executor.Executor: the goroutine pool (executor.GoPool), the pool
// of helper processes (package process) or a cluster. The calls batch work
// into chunks, each of which is one task for the executor (a process or
// cluster executor sends it as one message).
//
// A Pool is not generic; the calls are generic free functions over it:
//
//	Python                          Go
//	Pool(processes, ...)            New(ex, opts...) (workers, initializer and
//	                                maxtasksperchild are options of the executor)
//	pool.map(f, xs, chunksize)      Map(ctx, p, fn, xs, WithChunkSize(n))
//	pool.map_async(...)             MapAsync → *future.Future[[]R]
//	pool.starmap(f, [(a, b)])       Starmap(ctx, p, Star2(f), []Args2[A, B]{...})
//	pool.starmap_async(...)         StarmapAsync
//	pool.imap(f, it, chunksize)     Imap(ctx, p, fn, seq) → iter.Seq2[R, error]
//	(an iterator that raises)       ImapFallible(ctx, p, fn, seq2) over iter.Seq2[A, error]
//	pool.imap_unordered(...)        ImapUnordered, ImapUnorderedFallible
//	pool.apply(f, (x,))             Apply(ctx, p, fn, x)
//	pool.apply_async(f, (x,),       ApplyAsync(ctx, p, fn, x,
//	    callback, error_callback)       WithCallback(cb), WithErrorCallback(ecb))
//	AsyncResult.get(timeout)        Future.Result(ctx)
//	AsyncResult.wait / ready        <-Future.Done() / Future.Ready()
//	AsyncResult.successful          Future.Successful (ErrNotReady before ready)
//	pool.close / terminate / join   Close() / Terminate(ctx) / Join(ctx)
//	"Pool not running"              ErrClosed
//	(no equivalent)                 ctx: the items see its values, deadline and
//	                                end; WithCancelOnError (errgroup's behaviour)
//
// Functions are executor.Func values: a Go function wrapped by executor.Fn
// (runs only in this process), or a function registered by name with package
// process (runs anywhere). Starmap's functions take an Args2 or Args3.
//
// # Semantics
//
// Map returns results in input order with no fail-fast (unless
// WithCancelOnError): it is ready when every chunk has returned, and reports
// the failed item with the lowest index as an *ItemError. Imap is ordered and
// lazy: each failed item yields its error at its position and iteration goes
// on; ImapUnordered yields in completion order. Errors from the input
// sequence (ImapFallible, ImapUnorderedFallible) are delivered at their position. Both
// read the input at most WithChunksInFlight chunks ahead, and a break out of the
// loop cancels the work not yet started and the context of the work running,
// and leaves no goroutine behind.
//
// # Context
//
// Every call runs its items with a context derived from the call's ctx
// (see executor.Submit), so items see its values, its deadline and its end:
// when ctx ends, items not started never run and running items see
// ctx.Done(). Leaving an Imap loop early cancels that context too, so the
// items still running see ctx.Done() rather than run on unobserved.
// WithCancelOnError makes Map, Imap and Starmap stop at the first failure,
// as errgroup.WithContext does; without it no item is stopped because
// another failed (Python's behaviour). Pass context.WithoutCancel(ctx) for
// work that must outlive the caller.
//
// Where Python hangs, this package returns an error: a callback that panics
// fails the result with a *future.CallbackPanicError (the pool stays usable);
// a dead worker fails the items of its chunk with the executor's error
// (executor.ErrWorkerDied); an initializer that keeps failing makes the
// executor broken, and the calls fail with executor.ErrBroken.
//
// # Lifecycle
//
// Close stops new calls (ErrClosed) and lets outstanding ones finish;
// Terminate fails outstanding calls with ErrTerminated and cancels their work
// not started; Join, after either, waits for the outstanding work. With
// OwnExecutor the Pool shuts its executor down (Join after Close) or stops it
// (Terminate).
package pool
