package tally

import (
	"sync"
	"sync/atomic"

	"github.com/gofutures/gofutures/executor"
)

// KnownExits are the worker exit reasons counted without a lock, and always
// reported (zero until they happen), in label order.
var KnownExits = [...]executor.WorkerExit{
	executor.ExitIdle, executor.ExitShutdown, executor.ExitInitError, executor.ExitMaxTasks,
	executor.ExitCrashed, executor.ExitTimeout, executor.ExitKilled,
}

// Workers counts the workers an executor started and stopped, from its
// WorkerStarted and WorkerStopped hooks. The zero value is ready.
type Workers struct {
	alive  atomic.Int64
	starts atomic.Uint64
	stops  [len(KnownExits)]atomic.Uint64

	mu    sync.Mutex // guards other; never held while calling out
	other map[executor.WorkerExit]uint64
}

// Started counts a worker started.
func (w *Workers) Started() {
	w.starts.Add(1)
	w.alive.Add(1)
}

// Stopped counts a worker stopped for reason r.
func (w *Workers) Stopped(r executor.WorkerExit) {
	w.alive.Add(-1)
	for i, k := range KnownExits {
		if k == r {
			w.stops[i].Add(1)
			return
		}
	}
	w.mu.Lock()
	if w.other == nil {
		w.other = make(map[executor.WorkerExit]uint64)
	}
	w.other[r]++
	w.mu.Unlock()
}

// Read returns the workers alive now (never below 0), those started, and
// those stopped by reason: every known reason, and the others seen.
func (w *Workers) Read() (alive int64, starts uint64, stops map[executor.WorkerExit]uint64) {
	stops = make(map[executor.WorkerExit]uint64, len(KnownExits))
	for i, k := range KnownExits {
		stops[k] = w.stops[i].Load()
	}
	w.mu.Lock()
	for k, n := range w.other {
		stops[k] = n
	}
	w.mu.Unlock()
	return max(0, w.alive.Load()), w.starts.Load(), stops
}

// Known reports whether r is one of KnownExits.
func Known(r executor.WorkerExit) bool {
	for _, k := range KnownExits {
		if k == r {
			return true
		}
	}
	return false
}
