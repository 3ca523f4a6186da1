// Package future provides Future[T], the result of an asynchronous computation,
// with the semantics of Python's concurrent.futures.Future, and the functions
// Wait and AsCompleted that wait on many futures at once.
//
// A Future is created together with its Promise by New. The Promise side
// (usually an executor) moves the future from Pending to Running and completes
// it with a value or an error; any holder of the Future can wait for the
// outcome with a context.Context, select on Done, cancel it while it is still
// pending, and register callbacks that run once when it completes.
//
//	Pending ──SetRunning──▶ Running ──SetResult/SetError──▶ Finished
//	   │                                                        ▲
//	   └────────SetResult/SetError───────────────────────────────┘
//	   └──Cancel──▶ Cancelled
//
// Futures are useful without any executor, and Wait and AsCompleted accept
// futures of different result types and from different executors: everything
// they need is in the non-generic Awaitable interface that every *Future[T]
// implements.
//
// Gather collects a slice of futures into a slice of values in order
// (asyncio.gather), FirstSuccess takes the first to succeed and cancels the
// rest (a hedged request), and AsCompletedIndex is AsCompleted that yields
// each future's index, so results map back to their inputs without a map.
//
// The package imports only the standard library and starts no goroutines.
package future
