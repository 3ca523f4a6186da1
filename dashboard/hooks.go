package dashboard

import (
	"time"

	"github.com/gofutures/gofutures/executor"
)

// join returns hooks that call a's and then b's. TimeEvery is the smaller
// of the two (0 counts as 1: every task), so that neither sees fewer timed
// tasks than it asked for. Own is set only when both have it: an executor
// that counts for itself never calls Submitted, so a hook without Own
// would miss it; then the executor calls every hook as usual and a's and
// b's own counting is not used.
func join(a, b *executor.Hooks) *executor.Hooks {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	j := &executor.Hooks{
		TimeEvery: min(max(a.TimeEvery, 1), max(b.TimeEvery, 1)),
	}
	if a.Submitted != nil || b.Submitted != nil {
		j.Submitted = func() { a.OnSubmitted(); b.OnSubmitted() }
	}
	if a.Started != nil || b.Started != nil {
		j.Started = func(w time.Duration) { a.OnStarted(w); b.OnStarted(w) }
	}
	if a.Finished != nil || b.Finished != nil {
		j.Finished = func(f executor.Finish) { a.OnFinished(f); b.OnFinished(f) }
	}
	if a.WorkerStarted != nil || b.WorkerStarted != nil {
		j.WorkerStarted = func() { a.OnWorkerStarted(); b.OnWorkerStarted() }
	}
	if a.WorkerStopped != nil || b.WorkerStopped != nil {
		j.WorkerStopped = func(r executor.WorkerExit) { a.OnWorkerStopped(r); b.OnWorkerStopped(r) }
	}
	if a.Retried != nil || b.Retried != nil {
		j.Retried = func(d time.Duration) { a.OnRetried(d); b.OnRetried(d) }
	}
	if a.Own != nil && b.Own != nil {
		j.Own = func(read func() executor.Counts) (*executor.Hooks, func()) {
			oa, ra := a.Own(read)
			ob, rb := b.Own(read)
			return join(oa, ob), func() {
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
