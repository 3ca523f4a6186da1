package metrics_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkGoPool measures trivial tasks on a GoPool: "batch" submits 100
// tasks and waits for them (throughput), "serial" submits one and waits for
// it (latency). Compare the ns/task of the variants:
//
//	off    no hooks
//	on     metrics with the defaults (timing one task in 16)
//	exact  metrics timing every task (WithTimingSample(1))
//	clock  empty hooks that time every task: the executor's clock reads alone
func BenchmarkGoPool(b *testing.B) {
	for _, mode := range []struct {
		name  string
		batch int
	}{{"batch", 100}, {"serial", 1}} {
		for _, hooks := range []string{"off", "on", "exact", "clock"} {
			b.Run(mode.name+"/metrics="+hooks, func(b *testing.B) { benchPool(b, hooks, mode.batch) })
		}
	}
}

func benchPool(b *testing.B, hooks string, batch int) {
	ctx := context.Background()
	opts := []executor.Option{executor.WithWorkers(4)}
	var mopts []metrics.Option
	switch hooks {
	case "clock":
		opts = append(opts, executor.WithHooks(&executor.Hooks{}))
	case "exact":
		mopts = append(mopts, metrics.WithTimingSample(1))
		fallthrough
	case "on":
		m, err := metrics.New(prometheus.NewRegistry(), mopts...)
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, executor.WithHooks(m.Hooks("bench")))
	}
	p, err := executor.NewGoPool(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Shutdown(ctx) }()
	trivial := func(context.Context) (int, error) { return 1, nil }
	fs := make([]*future.Future[int], batch)
	b.ReportAllocs()
	for b.Loop() {
		for i := range fs {
			if fs[i], err = executor.Submit(ctx, p, trivial); err != nil {
				b.Fatal(err)
			}
		}
		for _, f := range fs {
			_ = f.Err(ctx)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/task")
}

// BenchmarkHooks measures the hooks alone, as several goroutines call
// them at once: the cost of one task's bookkeeping, timed or not.
func BenchmarkHooks(b *testing.B) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	h := m.Hooks("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ds := make([]time.Duration, 1024)
		for i := range ds {
			ds[i] = time.Duration(rand.Int64N(int64(time.Millisecond)))
			if i%2 == 0 {
				ds[i] = -1 // not measured
			}
		}
		i := 0
		for pb.Next() {
			d := ds[i%len(ds)]
			i++
			h.OnSubmitted()
			h.OnStarted(d)
			h.OnFinished(executor.Finish{Outcome: executor.OutcomeOK, Ran: true, Run: d})
		}
	})
}

// BenchmarkHooksSerial is BenchmarkHooks from one goroutine: the cost
// without contention.
func BenchmarkHooksSerial(b *testing.B) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	h := m.Hooks("bench")
	fin := executor.Finish{Outcome: executor.OutcomeOK, Ran: true, Run: time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		h.OnSubmitted()
		h.OnStarted(time.Microsecond)
		h.OnFinished(fin)
	}
}

// BenchmarkOverhead runs trivial tasks on two GoPools, one without metrics
// and one with them, alternating batches of 100 so that both see the same
// load from the rest of the machine, and reports the ns/task of each and
// the median of their ratios ("on/off"): the figure for the ≤ 10% budget. "default" uses
// the default options (timing one task in 16), "exact" times every task.
func BenchmarkOverhead(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchOverhead(b) })
	b.Run("exact", func(b *testing.B) { benchOverhead(b, metrics.WithTimingSample(1)) })
}

func benchOverhead(b *testing.B, opts ...metrics.Option) {
	ctx := context.Background()
	m, err := metrics.New(prometheus.NewRegistry(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	off, err := executor.NewGoPool(executor.WithWorkers(4))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = off.Shutdown(ctx) }()
	on, err := executor.NewGoPool(executor.WithWorkers(4), executor.WithHooks(m.Hooks("bench")))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = on.Shutdown(ctx) }()

	trivial := func(context.Context) (int, error) { return 1, nil }
	fs := make([]*future.Future[int], 100)
	batch := func(p executor.Executor) time.Duration {
		start := time.Now()
		for i := range fs {
			if fs[i], err = executor.Submit(ctx, p, trivial); err != nil {
				b.Fatal(err)
			}
		}
		for _, f := range fs {
			_ = f.Err(ctx)
		}
		return time.Since(start)
	}
	// Each pair of batches gives a ratio; the median ratio shrugs off the
	// bursts of other processes that a sum would keep.
	var tOff, tOn time.Duration
	var ratios []float64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var dOff, dOn time.Duration
		if i%2 == 0 { // alternate which goes first
			dOff = batch(off)
			dOn = batch(on)
		} else {
			dOn = batch(on)
			dOff = batch(off)
		}
		tOff += dOff
		tOn += dOn
		ratios = append(ratios, float64(dOn)/float64(dOff))
	}
	slices.Sort(ratios)
	n := float64(b.N * len(fs))
	b.ReportMetric(float64(tOff.Nanoseconds())/n, "ns/task-off")
	b.ReportMetric(float64(tOn.Nanoseconds())/n, "ns/task-on")
	b.ReportMetric(ratios[len(ratios)/2], "on/off")
}
