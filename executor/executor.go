package executor

import (
	"context"

	"github.com/gofutures/gofutures/executor/driver"
)

// Executor runs tasks asynchronously. GoPool (this package), process.Executor
// and cluster.Executor implement it; package pool and the typed functions
// Submit, Call, CallChunk and Map work over any of them.
//
// All methods are safe for concurrent use.
type Executor interface {
	// Schedule accepts t for running and returns nil, or returns an error
	// (wrapping ErrShutdown, ErrBroken or ErrOverloaded, or ctx's cause) and
	// leaves t untouched. It never runs t in the caller. It blocks only when
	// the executor has a bounded queue that applies backpressure.
	//
	// ctx is the task's, not only the scheduling's. Every executor:
	//   - returns context.Cause(ctx), accepting nothing, if ctx has ended;
	//   - runs t with a context derived from ctx: done when ctx is done or
	//     when the executor is stopped (Stop, cause ErrStopped), with ctx's
	//     deadline and, in this process, its values (a remote executor
	//     carries the deadline and the cancellation to the worker running t;
	//     values stay behind);
	//   - never starts t once ctx has ended: it fails t with
	//     context.Cause(ctx), at once if t is still waiting in a queue;
	//   - lets a running t see ctx.Done() when ctx ends, and records what t
	//     returns (a remote executor that cannot make a worker return
	//     stops it after a grace period and fails t with the cause).
	//
	// context.WithoutCancel(ctx) is how a caller asks for work that outlives
	// ctx. t.Cancel (Future.Cancel) is separate: it cancels t only if it has
	// not started.
	Schedule(ctx context.Context, t driver.Task) error
	// Shutdown stops accepting work and waits, until ctx ends, for the work
	// already accepted to finish and the workers to exit. With CancelPending
	// the work that has not started is cancelled instead. It returns
	// context.Cause(ctx) if ctx ends first (the shutdown goes on). Idempotent.
	Shutdown(ctx context.Context, opts ...driver.ShutdownOption) error
	// Stop stops at once: work that has not started fails with ErrStopped,
	// running work is told to stop (its context is cancelled; helper processes
	// are killed), and Stop waits, until ctx ends, for the workers to exit.
	// Idempotent, and it may follow Shutdown.
	Stop(ctx context.Context) error
	// Workers returns the maximum number of tasks that run at once.
	Workers() int
}

// CancelPending makes Shutdown cancel the work that has not started (Python's
// cancel_futures=True); running work still finishes.
func CancelPending() driver.ShutdownOption {
	return func(c *driver.ShutdownConfig) { c.CancelPending = true }
}
