package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"syscall"
	"time"
)

// sample is one measurement of one variant at one pool size.
type sample struct {
	elapsed time.Duration
	cpu     time.Duration // user + system CPU time of the process (all its threads, GC included)
	bytes   uint64        // runtime.MemStats.TotalAlloc delta
	mallocs uint64        // runtime.MemStats.Mallocs delta
	peak    uint64        // peak heap objects + goroutine stacks above the level before the run
	rss     uint64        // peak RSS of the process that ran it (see measureInChild)
}

// memSampler records the peak of live heap objects plus goroutine stacks,
// read with runtime/metrics (which does not stop the world), from a ticker
// goroutine and from explicit calls to mark.
type memSampler struct {
	mu      sync.Mutex
	samples []metrics.Sample
	peak    uint64
	stop    chan struct{}
	done    chan struct{}
}

func newMemSampler(every time.Duration) *memSampler {
	s := &memSampler{
		samples: []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/stacks:bytes"},
		},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.mark()
	t := time.NewTicker(every)
	go func() {
		defer close(s.done)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.mark()
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

// read returns the current heap objects + stacks in bytes.
func (s *memSampler) read() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	metrics.Read(s.samples)
	var sum uint64
	for _, x := range s.samples {
		if x.Value.Kind() == metrics.KindUint64 {
			sum += x.Value.Uint64()
		}
	}
	return sum
}

func (s *memSampler) mark() {
	v := s.read()
	s.mu.Lock()
	s.peak = max(s.peak, v)
	s.mu.Unlock()
}

// finish stops the ticker goroutine and returns the peak.
func (s *memSampler) finish() uint64 {
	close(s.stop)
	<-s.done
	s.mark()
	return s.peak
}

// measure runs v once with n tasks on a pool of the given size, batch tasks
// at a time (submit the batch, wait for it, go on with the next).
func measure(v variant, size, n, batch int, out []int) (sample, error) {
	if batch <= 0 || batch > n {
		batch = n
	}
	run, check := v.setup(size, n, out)
	// The same memory state for every run: collected, free pages given back
	// to the OS, so that no variant finds warm pages left by the one before
	// (see poolbench).
	debug.FreeOSMemory()
	base := newMemSampler(time.Millisecond)
	floor := base.read()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	t0 := time.Now()
	for lo := 0; lo < n; lo += batch {
		run(lo, min(lo+batch, n), base.mark)
	}
	elapsed := time.Since(t0)
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	peak := base.finish()
	if err := check(); err != nil {
		return sample{}, err
	}
	s := sample{
		elapsed: elapsed,
		cpu:     cpu,
		bytes:   m1.TotalAlloc - m0.TotalAlloc,
		mallocs: m1.Mallocs - m0.Mallocs,
	}
	if peak > floor {
		s.peak = peak - floor
	}
	return s, nil
}

// median returns the median of the samples, metric by metric.
func median(ss []sample) sample {
	pick := func(get func(sample) uint64) uint64 {
		xs := make([]uint64, len(ss))
		for i, s := range ss {
			xs[i] = get(s)
		}
		slices.Sort(xs)
		if len(xs)%2 == 1 {
			return xs[len(xs)/2]
		}
		return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return sample{
		elapsed: time.Duration(pick(func(s sample) uint64 { return uint64(s.elapsed) })),
		cpu:     time.Duration(pick(func(s sample) uint64 { return uint64(s.cpu) })),
		bytes:   pick(func(s sample) uint64 { return s.bytes }),
		mallocs: pick(func(s sample) uint64 { return s.mallocs }),
		peak:    pick(func(s sample) uint64 { return s.peak }),
		rss:     pick(func(s sample) uint64 { return s.rss }),
	}
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// cpuTime returns the user + system CPU time the process has used. Unlike
// wall time it does not grow when other processes take the CPUs, so it is the
// steadier figure on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
