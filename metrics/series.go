package metrics

import (
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/tally"
)

// numShards is the number of copies of the per-task counters of one
// executor (a power of two), so that goroutines running at once on
// different cores rarely write the same cache line; a scrape adds them up.
// See shard.
const (
	shardBits = 4
	numShards = 1 << shardBits
)

// series holds one executor's counts. The hooks update them with atomic
// additions only; Collect reads them.
//
// The per-task counters live in cells, numShards copies of this layout,
// each followed by a cache line of padding:
//
//	submitted, started, notRan (finished without running),
//	outcomes (finished, by executor.Outcome; the last is "unknown"),
//	owned outcomes (the same, for owners: see below),
//	queue-wait histogram, run-time histogram.
//
// A histogram is its bucket counts (not cumulative; the last counts values
// above every bound) followed by the sum of its values in nanoseconds. A
// negative duration means that the executor did not measure it: the task
// counts, the histogram does not. The number of tasks finished after
// running is the sum of the outcomes minus notRan.
//
// An executor that counts for itself (executor.Hooks.Own) is an owner: it
// reports its tasks accepted, queued and running when a scrape asks, and
// through its hooks only the tasks that end, into the owned outcomes (which
// the arithmetic above leaves out), and the times it measured.
type series struct {
	cells     []atomic.Uint64
	stride    int       // cells per shard, padding included
	outcomes  int       // number of outcome cells
	ownedAt   int       // offset of the owned outcomes in a shard
	waitAt    int       // offset of the queue-wait histogram in a shard
	runAt     int       // offset of the run-time histogram in a shard
	waitBound []float64 // upper bounds of the queue-wait buckets, seconds
	runBound  []float64 // upper bounds of the run-time buckets, seconds
	waitNS    []int64   // the same in nanoseconds, for the hot path
	runNS     []int64

	retries atomic.Uint64 // rare next to tasks: one counter is enough
	workers tally.Workers // every known exit reason has a series, zero until it happens
	owners  tally.Owners
}

const (
	cellSubmitted = 0
	cellStarted   = 1
	cellNotRan    = 2
	cellOutcomes  = 3
	padCells      = 8 // 64 bytes
)

func newSeries(outcomes int, waitBound, runBound []float64) *series {
	s := &series{
		outcomes: outcomes, waitBound: waitBound, runBound: runBound,
		waitNS: toNS(waitBound), runNS: toNS(runBound),
	}
	s.ownedAt = cellOutcomes + outcomes
	s.waitAt = s.ownedAt + outcomes
	s.runAt = s.waitAt + len(waitBound) + 2
	s.stride = s.runAt + len(runBound) + 2 + padCells
	s.cells = make([]atomic.Uint64, numShards*s.stride)
	return s
}

// toNS converts bucket bounds in seconds to nanoseconds: a duration d
// belongs under bound b when d <= toNS(b).
func toNS(bounds []float64) []int64 {
	ns := make([]int64, len(bounds))
	for i, b := range bounds {
		ns[i] = int64(math.Min(math.Floor(b*1e9), math.MaxInt64))
	}
	return ns
}

// shard returns the cells of the calling goroutine's shard. Goroutines are
// told apart by the address of their stack, the one per-goroutine value
// that costs nothing to read: workers running at once on different cores
// then mostly write to different cache lines (a shared, contended counter
// costs about ten times more), and each keeps writing to the same one. It
// is only a hint, and nothing depends on it: any goroutine may use any
// shard, and a goroutine whose stack moves changes shard. The pointer is
// turned into a number and never back.
func (s *series) shard() []atomic.Uint64 {
	var onStack byte
	h := uint64(uintptr(unsafe.Pointer(&onStack))) >> 13 // stacks are 8KiB or more
	i := int((h*0x9E3779B97F4A7C15)>>(64-shardBits)) * s.stride
	return s.cells[i : i+s.stride]
}

// observe adds d to the histogram at cells[at:] with bounds b (ns), unless
// d is negative (not measured).
func observe(cells []atomic.Uint64, at int, b []int64, d time.Duration) {
	if d < 0 {
		return
	}
	v := int64(d)
	i := 0
	for i < len(b) && v > b[i] {
		i++
	}
	cells[at+i].Add(1)
	cells[at+len(b)+1].Add(uint64(v))
}

func (s *series) onSubmitted() { s.shard()[cellSubmitted].Add(1) }

func (s *series) onStarted(wait time.Duration) {
	sh := s.shard()
	sh[cellStarted].Add(1)
	observe(sh, s.waitAt, s.waitNS, wait)
}

func (s *series) onFinished(f executor.Finish) {
	sh := s.shard()
	sh[cellOutcomes+min(int(f.Outcome), s.outcomes-1)].Add(1)
	if f.Ran {
		observe(sh, s.runAt, s.runNS, f.Run)
	} else {
		sh[cellNotRan].Add(1)
	}
}

// own implements executor.Hooks.Own: it registers the executor's read
// function and returns its hooks and its release function.
func (s *series) own(read func() executor.Counts, timeEvery uint32) (*executor.Hooks, func()) {
	release := s.owners.Add(read)
	return &executor.Hooks{
		Started:       s.onOwnedStarted,
		Finished:      s.onOwnedFinished,
		WorkerStarted: s.onWorkerStarted,
		WorkerStopped: s.onWorkerStopped,
		Retried:       s.onRetried,
		TimeEvery:     timeEvery,
	}, release
}

// onOwnedStarted: an owner calls Started only for the tasks it timed.
func (s *series) onOwnedStarted(wait time.Duration) {
	observe(s.shard(), s.waitAt, s.waitNS, wait)
}

func (s *series) onOwnedFinished(f executor.Finish) {
	sh := s.shard()
	sh[s.ownedAt+min(int(f.Outcome), s.outcomes-1)].Add(1)
	if f.Ran {
		observe(sh, s.runAt, s.runNS, f.Run)
	}
}

func (s *series) onRetried(time.Duration) { s.retries.Add(1) }

func (s *series) onWorkerStarted()                      { s.workers.Started() }
func (s *series) onWorkerStopped(r executor.WorkerExit) { s.workers.Stopped(r) }

// histSnapshot is a histogram as Prometheus wants it.
type histSnapshot struct {
	count   uint64
	sum     float64            // seconds
	buckets map[float64]uint64 // cumulative, by upper bound
}

// snapshot is what Collect reports for one executor.
type snapshot struct {
	submitted, queued, inFlight uint64
	outcomes                    []uint64
	wait, run                   histSnapshot
	alive                       int64
	starts, retries             uint64
	stops                       map[executor.WorkerExit]uint64
}

// snapshot adds up the shards. The counters are read in the reverse order
// of a task's life (finished, then started, then submitted), so that a task
// that moves on during the read is never counted twice; the gauges are
// clamped at zero for the short moments when an executor reports a task
// started before it reports it submitted.
func (s *series) snapshot() snapshot {
	sum := func(cell int) uint64 {
		var n uint64
		for i := 0; i < len(s.cells); i += s.stride {
			n += s.cells[i+cell].Load()
		}
		return n
	}
	hist := func(at int, bounds []float64) histSnapshot {
		h := histSnapshot{buckets: make(map[float64]uint64, len(bounds))}
		for i, b := range bounds {
			h.count += sum(at + i)
			h.buckets[b] = h.count
		}
		h.count += sum(at + len(bounds))
		h.sum = time.Duration(sum(at + len(bounds) + 1)).Seconds()
		return h
	}
	var sn snapshot
	var finished uint64
	for i := range s.outcomes {
		n := sum(cellOutcomes + i)
		finished += n
		sn.outcomes = append(sn.outcomes, n+sum(s.ownedAt+i))
	}
	notRan := sum(cellNotRan)
	ranDone := finished - min(finished, notRan)
	started := sum(cellStarted)
	sn.submitted = sum(cellSubmitted)
	sn.run = hist(s.runAt, s.runBound)
	sn.wait = hist(s.waitAt, s.waitBound)
	sn.inFlight = started - min(started, ranDone)
	sn.queued = sn.submitted - min(sn.submitted, started+notRan)

	sn.alive, sn.starts, sn.stops = s.workers.Read()
	sn.retries = s.retries.Load()
	// After the owned outcomes, so that no task is seen finished and not
	// accepted.
	o := s.owners.Sum()
	sn.submitted += o.Submitted
	sn.queued += o.Queued
	sn.inFlight += o.Running
	return sn
}
