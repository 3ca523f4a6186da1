package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/metrics"
	"github.com/gofutures/gofutures/process"
	"github.com/prometheus/client_golang/prometheus"
)

// clusterReg holds the functions the tests and examples run.
var clusterReg = process.NewRegistry()

var double = process.MustRegister(clusterReg, "metrics_test.double", func(_ context.Context, n int) (int, error) {
	return 2 * n, nil
})

// clusterValue returns the value of the gauge or counter name (summed over
// its series) and whether it was reported.
func clusterValue(t *testing.T, g prometheus.Gatherer, name string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			v := 0.0
			for _, m := range mf.GetMetric() {
				v += m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
			return v, true
		}
	}
	return 0, false
}

// waitValue scrapes g until name has value v.
func waitValue(t *testing.T, g prometheus.Gatherer, name string, v float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		got, ok := clusterValue(t, g, name)
		if ok && got == v {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s = %v (reported: %v), want %v", name, got, ok, v)
		case <-tick.C:
		}
	}
}

// TestClusterCollectorExecutor scrapes a real cluster executor: tasks wait
// in the stream, a worker joins and runs them, and leaves.
func TestClusterCollectorExecutor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ex, err := cluster.New(ctx, clusterReg, cluster.WithName("jobs"), cluster.WithToken("t0ken"),
		cluster.WithStoreDir(t.TempDir()), cluster.WithAckWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ex.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewClusterCollector(reg, "jobs", ex.Stats); err != nil {
		t.Fatal(err)
	}
	waitValue(t, reg, "gofutures_cluster_workers_connected", 0)
	var fs []interface{ Err(context.Context) error }
	for i := range 3 {
		f, err := executor.Call(ctx, ex, double, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	waitValue(t, reg, "gofutures_cluster_stream_depth", 3)
	waitValue(t, reg, "gofutures_cluster_ack_latency_seconds", 3)

	w, err := cluster.NewWorker(clusterReg, cluster.WithURL(ex.URL()), cluster.WithToken("t0ken"),
		cluster.WithName("w1"), cluster.WithConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stopWorker(); <-done }()
	waitValue(t, reg, "gofutures_cluster_workers_connected", 1)
	waitValue(t, reg, "gofutures_cluster_worker_concurrency", 2)
	for _, f := range fs {
		if err := f.Err(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitValue(t, reg, "gofutures_cluster_stream_depth", 0)
	waitValue(t, reg, "gofutures_cluster_ack_pending", 0)
	if v, _ := clusterValue(t, reg, "gofutures_cluster_stats_errors_total"); v != 0 {
		t.Errorf("stats errors = %v, want 0", v)
	}
	stopWorker()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the deferred stop
	waitValue(t, reg, "gofutures_cluster_workers_connected", 0)

	// After Stop the stream cannot be read: the scrape says so, and goes on.
	if err := ex.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitValue(t, reg, "gofutures_cluster_stats_errors_total", 1)
	if _, ok := clusterValue(t, reg, "gofutures_cluster_stream_depth"); ok {
		t.Error("stream depth reported after Stop")
	}
}
