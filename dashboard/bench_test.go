package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// BenchmarkOverhead runs trivial tasks through a GoPool without hooks and
// one feeding a dashboard, alternated in batches of 100 in one benchmark:
// the figure on/off is the median of the paired ratios, which shrugs off
// the bursts of other processes on a noisy machine. "polled" has a page
// asking for the numbers every 10ms meanwhile (a browser asks once a
// second).
func BenchmarkOverhead(b *testing.B) {
	b.Run("no-page", func(b *testing.B) { benchOverhead(b, 0) })
	b.Run("polled", func(b *testing.B) { benchOverhead(b, 10*time.Millisecond) })
}

func benchOverhead(b *testing.B, every time.Duration) {
	ctx := context.Background()
	d, err := dashboard.New()
	if err != nil {
		b.Fatal(err)
	}
	off, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = off.Shutdown(ctx) }()
	on, err := executor.NewGoPool(executor.WithWorkers(2), executor.WithHooks(d.Hooks("bench")))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = on.Shutdown(ctx) }()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	if every > 0 {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				d.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/d/api/state", nil))
			}
		})
	}

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
	var tOff, tOn time.Duration
	var ratios []float64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var dOff, dOn time.Duration
		if i%2 == 0 {
			dOff, dOn = batch(off), batch(on)
		} else {
			dOn, dOff = batch(on), batch(off)
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

// BenchmarkState measures one request of an open page (GET api/state) for
// a dashboard with two executors, a call and full histories.
func BenchmarkState(b *testing.B) {
	d, err := dashboard.New(dashboard.WithRefresh(time.Nanosecond), dashboard.WithHistory(600*time.Nanosecond))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		h := d.Hooks(name)
		for range 1000 {
			h.OnSubmitted()
			h.OnStarted(time.Millisecond)
			h.OnFinished(executor.Finish{Outcome: executor.OutcomeOK, Ran: true, Run: time.Millisecond})
		}
	}
	d.Progress("call")(10, 100)
	req := httptest.NewRequest(http.MethodGet, "/d/api/state", nil)
	for range 700 { // fill the histories (600 points)
		d.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ReportAllocs()
	for b.Loop() {
		d.ServeHTTP(httptest.NewRecorder(), req)
	}
}
