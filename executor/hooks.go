package executor

import (
	"context"
	"errors"
	"time"
)

// Outcome classifies how a task ended, for hooks and metrics.
type Outcome uint8

// The outcomes of a task.
const (
	OutcomeOK         Outcome = iota // finished with a nil error
	OutcomeError                     // finished with an error
	OutcomePanic                     // panicked or called runtime.Goexit (*PanicError)
	OutcomeCancelled                 // cancelled: Future.Cancel before it ran, or context.Canceled
	OutcomeTimeout                   // ran out of time (context.DeadlineExceeded)
	OutcomeWorkerDied                // its worker died (ErrWorkerDied)
	OutcomeStopped                   // failed by a hard Stop or a broken executor
)

var outcomeNames = [...]string{"ok", "error", "panic", "cancelled", "timeout", "worker_died", "stopped"}

// String returns the outcome's label value, as used by package metrics.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Outcomes lists every Outcome, in order.
func Outcomes() []Outcome {
	return []Outcome{OutcomeOK, OutcomeError, OutcomePanic, OutcomeCancelled, OutcomeTimeout, OutcomeWorkerDied, OutcomeStopped}
}

// OutcomeOf classifies a task's error. A task whose ctx was cancelled
// (context.Canceled, whether it ran and returned it or was removed from the
// queue with it) counts as cancelled, one whose deadline passed
// (context.DeadlineExceeded) as a timeout.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		return OutcomePanic
	case errors.Is(err, ErrWorkerDied):
		return OutcomeWorkerDied
	case errors.Is(err, ErrStopped), errors.Is(err, ErrBroken):
		return OutcomeStopped
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	case isCancelled(err), errors.Is(err, context.Canceled):
		return OutcomeCancelled
	}
	return OutcomeError
}

// Finish describes a task that ended, for Hooks.Finished.
type Finish struct {
	// Outcome classifies the end.
	Outcome Outcome
	// Ran is false for a task that ended without running (cancelled, or failed
	// by Stop or a broken executor while queued).
	Ran bool
	// Run is how long the task ran: zero when it did not run, negative when
	// it was not measured (see Hooks.TimeEvery).
	Run time.Duration
	// Err is the error the task failed with, when the executor knows it
	// (nil on success, and for a task cancelled before it ran). It is the
	// task's own error value: hooks must not keep it past the call unless
	// they copy what they need (its text, say).
	Err error
}

// WorkerExit says why a worker stopped, for Hooks.WorkerStopped.
type WorkerExit string

// Reasons a worker stops. Process pools add exit statuses and signals in
// their logs; these are the label values.
const (
	ExitIdle      WorkerExit = "idle"       // idle longer than the idle timeout
	ExitShutdown  WorkerExit = "shutdown"   // the executor shut down
	ExitInitError WorkerExit = "init_error" // its initializer failed
	ExitMaxTasks  WorkerExit = "max_tasks"  // it ran its maximum number of tasks
	ExitCrashed   WorkerExit = "crashed"    // it died (exit, signal, protocol error)
	ExitTimeout   WorkerExit = "timeout"    // killed because a task overran its timeout
	ExitKilled    WorkerExit = "killed"     // killed by a hard Stop
)

// Hooks are optional callbacks an executor calls as work moves through it;
// package metrics turns them into Prometheus collectors. Any func field may
// be nil.
// Hooks are called synchronously from the executor's goroutines, often
// concurrently, so they must be safe for concurrent use and quick, and must
// not call the executor's methods (GoPool calls Submitted under its lock). A nil
// *Hooks is valid and costs nothing: an executor without hooks does not even
// read the clock.
//
// Every scheduled task gets exactly one Finished call; Started is called
// only for tasks that ran, before their Finished. An executor that counts
// for itself (see Own) calls the hooks Own returns instead, and fewer of them.
type Hooks struct {
	// Submitted: a task was accepted.
	Submitted func()
	// Started: a task started, after waiting queueWait in the executor
	// (negative: not measured, see TimeEvery).
	Started func(queueWait time.Duration)
	// Finished: a task ended.
	Finished func(Finish)
	// WorkerStarted: a worker (goroutine or helper process) started.
	WorkerStarted func()
	// WorkerStopped: a worker stopped, for the reason given.
	WorkerStopped func(WorkerExit)
	// Retried: a task's attempt failed and it will be scheduled again
	// after delay (see Retry). The attempt was reported as a task that
	// finished with its outcome; the next one is reported as a new task.
	// It is called by the retry policy, in the goroutine that ended the
	// attempt, for executors that expose their hooks with a Hooks method
	// (GoPool, process.Executor, cluster.Executor do).
	Retried func(delay time.Duration)

	// TimeEvery lets the executor measure the queue wait and the run time
	// of as few as one task in TimeEvery (0 and 1: every task) when tasks
	// come so fast that reading the clock would be a large part of their
	// cost: three reads per task cost about as much as a trivial goroutine
	// task. GoPool times every task while tasks arrive more than 5µs apart
	// on average, and samples down to one in TimeEvery when they come
	// faster. The tasks not timed are reported all the same, with a negative
	// queueWait in Started and a negative Finish.Run, meaning "not
	// measured". Executors whose tasks cost far more than a clock read may
	// time every task regardless.
	TimeEvery uint32

	// Own, if set, is for executors that keep their own counts of the tasks
	// accepted, queued and running, as GoPool does under the lock it takes
	// for each task anyway. Such an executor calls Own once, with a function
	// that returns its counts at the moment (safe for concurrent use, quick,
	// not calling back into the hooks), and from then on uses the hooks Own
	// returns: it never calls their Submitted, calls their Started only for
	// the tasks it times (see TimeEvery), and calls Finished, WorkerStarted
	// and WorkerStopped as usual. It calls release once, when it has stopped
	// for good and every task has finished, after which read is not called
	// again. This saves two hook calls per task; package metrics implements
	// it.
	Own func(read func() Counts) (own *Hooks, release func())
}

// Counts are the running totals of an executor that counts for itself
// (see Hooks.Own).
type Counts struct {
	Submitted uint64 // tasks accepted so far
	Queued    int    // accepted and not yet taken by a worker
	Running   int    // taken by a worker and not yet finished
}

// The methods below call the hook of the same name if h and it are set, so
// that executors, here and in other packages, never check for nil.

// OnSubmitted calls h.Submitted.
func (h *Hooks) OnSubmitted() {
	if h != nil && h.Submitted != nil {
		h.Submitted()
	}
}

// OnStarted calls h.Started.
func (h *Hooks) OnStarted(wait time.Duration) {
	if h != nil && h.Started != nil {
		h.Started(wait)
	}
}

// OnFinished calls h.Finished.
func (h *Hooks) OnFinished(f Finish) {
	if h != nil && h.Finished != nil {
		h.Finished(f)
	}
}

// OnRetried calls h.Retried.
func (h *Hooks) OnRetried(delay time.Duration) {
	if h != nil && h.Retried != nil {
		h.Retried(delay)
	}
}

// OnWorkerStarted calls h.WorkerStarted.
func (h *Hooks) OnWorkerStarted() {
	if h != nil && h.WorkerStarted != nil {
		h.WorkerStarted()
	}
}

// OnWorkerStopped calls h.WorkerStopped.
func (h *Hooks) OnWorkerStopped(r WorkerExit) {
	if h != nil && h.WorkerStopped != nil {
		h.WorkerStopped(r)
	}
}

// JoinHooks returns hooks that call each of hs in turn, for an executor
// that takes one set of hooks and should feed several (package metrics',
// package dashboard's, your own). Nil entries are skipped; with one left,
// it is returned as it is. TimeEvery is the smallest of theirs, so that
// each is timed at least as often as it asked. The joined hooks count for
// themselves (Own) only when every one of hs does: then the executor keeps
// its own counts and each gets its Own hooks; otherwise every hook is
// called for every event.
func JoinHooks(hs ...*Hooks) *Hooks {
	var out *Hooks
	for _, h := range hs {
		out = join2(out, h)
	}
	return out
}

func join2(a, b *Hooks) *Hooks {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	j := &Hooks{TimeEvery: min(max(a.TimeEvery, 1), max(b.TimeEvery, 1))}
	if a.Submitted != nil || b.Submitted != nil {
		j.Submitted = func() { a.OnSubmitted(); b.OnSubmitted() }
	}
	if a.Started != nil || b.Started != nil {
		j.Started = func(w time.Duration) { a.OnStarted(w); b.OnStarted(w) }
	}
	if a.Finished != nil || b.Finished != nil {
		j.Finished = func(f Finish) { a.OnFinished(f); b.OnFinished(f) }
	}
	if a.WorkerStarted != nil || b.WorkerStarted != nil {
		j.WorkerStarted = func() { a.OnWorkerStarted(); b.OnWorkerStarted() }
	}
	if a.WorkerStopped != nil || b.WorkerStopped != nil {
		j.WorkerStopped = func(r WorkerExit) { a.OnWorkerStopped(r); b.OnWorkerStopped(r) }
	}
	if a.Retried != nil || b.Retried != nil {
		j.Retried = func(d time.Duration) { a.OnRetried(d); b.OnRetried(d) }
	}
	if a.Own != nil && b.Own != nil {
		j.Own = func(read func() Counts) (*Hooks, func()) {
			oa, ra := a.Own(read)
			ob, rb := b.Own(read)
			return join2(oa, ob), func() {
				if ra != nil {
					ra()
				}
				if rb != nil {
					rb()
				}
			}
		}
	}
	return j
}
