package dashboard

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/tally"
)

// numOutcomes is the number of outcome cells: every executor.Outcome and
// one for values this package does not know.
var numOutcomes = len(executor.Outcomes()) + 1

// runBounds are the upper bounds of the run-time histogram: 1µs to about
// 67s in steps of 4. A last bucket holds what is above them.
var runBounds = func() []time.Duration {
	b := make([]time.Duration, 14)
	d := time.Microsecond
	for i := range b {
		b[i] = d
		d *= 4
	}
	return b
}()

// execStats holds the counts of one executor name. The hooks only add to
// atomic counters; a snapshot reads them. Executors that count for
// themselves (executor.Hooks.Own) are owners: the snapshot asks them for
// their tasks accepted, queued and running, and their hooks count only the
// tasks that failed and the run times they measured, so that a task that
// succeeds costs a function call and a comparison.
type execStats struct {
	name string

	// For executors that do not count for themselves.
	submitted, started, notRan, ended, endedRan atomic.Uint64

	failed   []atomic.Uint64 // tasks ended, by outcome; OutcomeOK is not counted here
	run      []atomic.Uint64 // run-time histogram: len(runBounds)+1 buckets
	runSum   atomic.Int64    // nanoseconds, over the measured tasks
	retries  atomic.Uint64
	workers  tally.Workers
	failures *ring

	owners tally.Owners

	mu   sync.Mutex // guards pids
	pids func() []int
}

func newExecStats(name string, failures int) *execStats {
	return &execStats{
		name:     name,
		failed:   make([]atomic.Uint64, numOutcomes),
		run:      make([]atomic.Uint64, len(runBounds)+1),
		failures: newRing(failures),
	}
}

func (s *execStats) hooks(timeEvery uint32) *executor.Hooks {
	return &executor.Hooks{
		Submitted:     func() { s.submitted.Add(1) },
		Started:       func(time.Duration) { s.started.Add(1) },
		Finished:      s.onFinished,
		WorkerStarted: s.onWorkerStarted,
		WorkerStopped: s.onWorkerStopped,
		Retried:       func(time.Duration) { s.retries.Add(1) },
		TimeEvery:     timeEvery,
		Own:           func(read func() executor.Counts) (*executor.Hooks, func()) { return s.own(read, timeEvery) },
	}
}

func (s *execStats) onFinished(f executor.Finish) {
	if f.Ran {
		s.endedRan.Add(1)
	} else {
		s.notRan.Add(1)
	}
	s.ended.Add(1)
	s.onOwnedFinished(f)
}

// onOwnedFinished counts what an owner reports: failures and run times.
func (s *execStats) onOwnedFinished(f executor.Finish) {
	if f.Outcome != executor.OutcomeOK {
		s.failed[min(int(f.Outcome), numOutcomes-1)].Add(1)
		if f.Err != nil { // the executor said why: keep its text and pid
			s.failures.add(failureOf(f.Err, time.Now()))
		}
	}
	if f.Ran && f.Run >= 0 {
		i := 0
		for i < len(runBounds) && f.Run > runBounds[i] {
			i++
		}
		s.run[i].Add(1)
		s.runSum.Add(int64(f.Run))
	}
}

func (s *execStats) onWorkerStarted()                      { s.workers.Started() }
func (s *execStats) onWorkerStopped(r executor.WorkerExit) { s.workers.Stopped(r) }

// own implements executor.Hooks.Own.
func (s *execStats) own(read func() executor.Counts, timeEvery uint32) (*executor.Hooks, func()) {
	release := s.owners.Add(read)
	return &executor.Hooks{
		Finished:      s.onOwnedFinished,
		WorkerStarted: s.onWorkerStarted,
		WorkerStopped: s.onWorkerStopped,
		Retried:       func(time.Duration) { s.retries.Add(1) },
		TimeEvery:     timeEvery,
	}, release
}

// execView is one executor as the page shows it.
type execView struct {
	Name      string            `json:"name"`
	Submitted uint64            `json:"submitted"`
	Queued    uint64            `json:"queued"`
	Running   uint64            `json:"running"`
	Done      uint64            `json:"done"` // ended, whatever the outcome
	OK        uint64            `json:"ok"`
	Failed    uint64            `json:"failed"`
	Outcomes  map[string]uint64 `json:"outcomes"` // the failed ones, by outcome
	Workers   int64             `json:"workers"`
	Starts    uint64            `json:"workerStarts"`
	Stops     map[string]uint64 `json:"workerStops"`
	Restarts  uint64            `json:"restarts"`
	Retries   uint64            `json:"retries"` // attempts that failed and were scheduled again
	Helpers   []helperView      `json:"helpers"`
	Run       histView          `json:"run"`
	Failures  []failureView     `json:"failures"`
	History   *historyView      `json:"history"`
}

type helperView struct {
	Pid   int    `json:"pid"`
	State string `json:"state"`
}

type histView struct {
	Bounds []float64 `json:"bounds"` // seconds; the last bucket has none
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Mean   float64   `json:"mean"` // seconds
	P50    float64   `json:"p50"`
	P90    float64   `json:"p90"`
	P99    float64   `json:"p99"`
}

// view reads the counts. Counters are read in the reverse order of a
// task's life (ended, then started, then submitted), so that a task moving
// on during the read is never counted twice, and the owners last, so that
// no task is seen failed and not accepted.
func (s *execStats) view() execView {
	v := execView{Name: s.name, Outcomes: map[string]uint64{}, Stops: map[string]uint64{}}
	for i := range s.failed {
		n := s.failed[i].Load()
		if n == 0 {
			continue
		}
		v.Failed += n
		name := "unknown"
		if i < numOutcomes-1 {
			name = executor.Outcome(i).String()
		}
		v.Outcomes[name] = n
	}
	ended, endedRan := s.ended.Load(), s.endedRan.Load()
	notRan, started := s.notRan.Load(), s.started.Load()
	submitted := s.submitted.Load()
	v.Done = ended
	v.Running = started - min(started, endedRan)
	v.Queued = submitted - min(submitted, started+notRan)
	v.Submitted = submitted

	v.Retries = s.retries.Load()
	var stops map[executor.WorkerExit]uint64
	v.Workers, v.Starts, stops = s.workers.Read()
	for k, n := range stops {
		if n == 0 {
			continue
		}
		v.Stops[string(k)] = n
		switch k {
		case executor.ExitCrashed, executor.ExitTimeout, executor.ExitMaxTasks, executor.ExitInitError:
			v.Restarts += n
		default:
			if !tally.Known(k) { // an executor's own reason: a worker that did not end normally
				v.Restarts += n
			}
		}
	}
	o := s.owners.Sum()
	v.Submitted += o.Submitted
	v.Queued += o.Queued
	v.Running += o.Running
	v.Done += o.Ended
	s.mu.Lock()
	pids := s.pids
	s.mu.Unlock()
	v.OK = v.Done - min(v.Done, v.Failed)

	if pids != nil {
		for _, p := range pids() {
			v.Helpers = append(v.Helpers, helperView{Pid: p, State: "ready"})
		}
	}
	v.Run = s.hist()
	v.Failures = s.failures.list()
	return v
}

func (s *execStats) hist() histView {
	h := histView{Bounds: make([]float64, len(runBounds)), Counts: make([]uint64, len(s.run))}
	for i, b := range runBounds {
		h.Bounds[i] = b.Seconds()
	}
	for i := range s.run {
		h.Counts[i] = s.run[i].Load()
		h.Count += h.Counts[i]
	}
	if h.Count == 0 {
		return h
	}
	h.Mean = time.Duration(s.runSum.Load() / int64(h.Count)).Seconds()
	h.P50, h.P90, h.P99 = h.quantile(0.5), h.quantile(0.9), h.quantile(0.99)
	return h
}

// quantile estimates the q-quantile by linear interpolation in its bucket
// (the first bucket starts at 0; the last is reported as its lower bound).
func (h histView) quantile(q float64) float64 {
	rank := q * float64(h.Count)
	var seen float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			if i == len(h.Bounds) {
				return h.Bounds[i-1]
			}
			lo := 0.0
			if i > 0 {
				lo = h.Bounds[i-1]
			}
			return lo + (h.Bounds[i]-lo)*(rank-seen)/float64(c)
		}
		seen += float64(c)
	}
	return h.Bounds[len(h.Bounds)-1]
}
