package metrics_test

import (
	"context"
	"errors"
	"github.com/gofutures/gofutures/cluster/clusterstats"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var clusterNames = []string{
	"gofutures_cluster_workers_connected", "gofutures_cluster_worker_concurrency",
	"gofutures_cluster_worker_tasks_running", "gofutures_cluster_worker_tasks_held",
	"gofutures_cluster_stream_depth", "gofutures_cluster_ack_pending",
	"gofutures_cluster_redeliveries_total", "gofutures_cluster_delivery_limit_failures_total",
	"gofutures_cluster_ack_latency_seconds", "gofutures_cluster_stats_errors_total",
}

// sampleStats has two workers (one of them reported twice) and a histogram.
func sampleStats() clusterstats.Stats {
	return clusterstats.Stats{
		Workers: []clusterstats.Worker{
			{Name: "w", ID: "A", Host: "h1", Concurrency: 4, Running: 2, Held: 3},
			{Name: "w", ID: "B", Host: "h2", Concurrency: 8, Running: 0, Held: 1},
			{Name: "w", ID: "B", Host: "h2", Concurrency: 8, Running: 0, Held: 1},
		},
		StreamDepth: 12, AckPending: 4, Redeliveries: 2, DeliveryLimitFailures: 1,
		AckLatency: clusterstats.Histogram{Count: 5, Sum: 12500 * time.Microsecond, Bounds: []time.Duration{time.Millisecond, 10 * time.Millisecond}, Counts: []uint64{3, 4}},
	}
}

const sampleWorkers = `# HELP gofutures_cluster_worker_concurrency Tasks the worker runs at once.
# TYPE gofutures_cluster_worker_concurrency gauge
gofutures_cluster_worker_concurrency{executor="jobs",host="h1",worker="w",worker_id="A"} 4
gofutures_cluster_worker_concurrency{executor="jobs",host="h2",worker="w",worker_id="B"} 8
# HELP gofutures_cluster_worker_tasks_held Tasks the worker holds: running, prefetched, or with a result on its way.
# TYPE gofutures_cluster_worker_tasks_held gauge
gofutures_cluster_worker_tasks_held{executor="jobs",host="h1",worker="w",worker_id="A"} 3
gofutures_cluster_worker_tasks_held{executor="jobs",host="h2",worker="w",worker_id="B"} 1
# HELP gofutures_cluster_worker_tasks_running Tasks the worker is running.
# TYPE gofutures_cluster_worker_tasks_running gauge
gofutures_cluster_worker_tasks_running{executor="jobs",host="h1",worker="w",worker_id="A"} 2
gofutures_cluster_worker_tasks_running{executor="jobs",host="h2",worker="w",worker_id="B"} 0
# HELP gofutures_cluster_workers_connected Workers connected to the cluster's task stream.
# TYPE gofutures_cluster_workers_connected gauge
gofutures_cluster_workers_connected{executor="jobs"} 2
`

const sampleCounters = `# HELP gofutures_cluster_ack_latency_seconds Time the server took to confirm that it stored a task.
# TYPE gofutures_cluster_ack_latency_seconds histogram
gofutures_cluster_ack_latency_seconds_bucket{executor="jobs",le="0.001"} 3
gofutures_cluster_ack_latency_seconds_bucket{executor="jobs",le="0.01"} 4
gofutures_cluster_ack_latency_seconds_bucket{executor="jobs",le="+Inf"} 5
gofutures_cluster_ack_latency_seconds_sum{executor="jobs"} 0.0125
gofutures_cluster_ack_latency_seconds_count{executor="jobs"} 5
# HELP gofutures_cluster_delivery_limit_failures_total Tasks failed because they used up their deliveries.
# TYPE gofutures_cluster_delivery_limit_failures_total counter
gofutures_cluster_delivery_limit_failures_total{executor="jobs"} 1
# HELP gofutures_cluster_redeliveries_total Tasks given to a worker again after a worker had started them.
# TYPE gofutures_cluster_redeliveries_total counter
gofutures_cluster_redeliveries_total{executor="jobs"} 2
`

const sampleStream = `# HELP gofutures_cluster_ack_pending Tasks given to workers and not yet acknowledged.
# TYPE gofutures_cluster_ack_pending gauge
gofutures_cluster_ack_pending{executor="jobs"} 4
# HELP gofutures_cluster_stream_depth Tasks waiting in the stream that no worker has been given yet.
# TYPE gofutures_cluster_stream_depth gauge
gofutures_cluster_stream_depth{executor="jobs"} 12
`

func statsErrors(n string) string {
	return `# HELP gofutures_cluster_stats_errors_total Scrapes that could not read the cluster's statistics, or only part of them.
# TYPE gofutures_cluster_stats_errors_total counter
gofutures_cluster_stats_errors_total{executor="jobs"} ` + n + "\n"
}

func compareCluster(t *testing.T, c prometheus.Collector, want string) {
	t.Helper()
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), clusterNames...); err != nil {
		t.Error(err)
	}
}

func TestClusterCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	var gotDeadline atomic.Bool
	c, err := metrics.NewClusterCollector(reg, "jobs", func(ctx context.Context) (clusterstats.Stats, error) {
		dl, ok := ctx.Deadline()
		gotDeadline.Store(ok && time.Until(dl) <= 2*time.Second)
		return sampleStats(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	compareCluster(t, c, sampleWorkers+sampleCounters+sampleStream+statsErrors("0"))
	if !gotDeadline.Load() {
		t.Error("the stats function's ctx has no deadline of at most the default 2s")
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v, %v", problems, err)
	}
}

func TestClusterCollectorFailures(t *testing.T) {
	t.Run("partial", func(t *testing.T) {
		c, err := metrics.NewClusterCollector(prometheus.NewRegistry(), "jobs", func(context.Context) (clusterstats.Stats, error) {
			return sampleStats(), errors.New("no connection")
		})
		if err != nil {
			t.Fatal(err)
		}
		// Everything but the stream's gauges, and the failure counted.
		compareCluster(t, c, sampleWorkers+sampleCounters+statsErrors("1"))
	})
	t.Run("panic", func(t *testing.T) {
		c, err := metrics.NewClusterCollector(prometheus.NewRegistry(), "jobs", func(context.Context) (clusterstats.Stats, error) {
			panic("stats broke")
		})
		if err != nil {
			t.Fatal(err)
		}
		compareCluster(t, c, statsErrors("1"))
		compareCluster(t, c, statsErrors("2"))
	})
	t.Run("hang", func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c, err := metrics.NewClusterCollector(prometheus.NewRegistry(), "jobs", func(context.Context) (clusterstats.Stats, error) {
			if calls.Add(1) == 1 {
				<-release // ignores its ctx
			}
			return sampleStats(), nil
		}, metrics.WithStatsTimeout(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		// Three scrapes, two at once: each gives up, and they share the one call.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { testutil.CollectAndCount(c) })
		}
		wg.Wait()
		compareCluster(t, c, statsErrors("3"))
		if n := calls.Load(); n != 1 {
			t.Errorf("stats called %d times while its first call hung, want 1", n)
		}
		close(release)
		// The hung call returns; a later scrape calls again and reports it all.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for testutil.CollectAndCount(c, "gofutures_cluster_stream_depth") == 0 {
			if ctx.Err() != nil {
				t.Fatal("no scrape succeeded after the hung call returned")
			}
		}
	})
}

func TestNewClusterCollectorErrors(t *testing.T) {
	stats := func(context.Context) (clusterstats.Stats, error) { return clusterstats.Stats{}, nil }
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewClusterCollector(reg, "jobs", stats); err != nil {
		t.Fatal(err)
	}
	// Another executor, and the executor metrics, on the same registry are fine.
	if _, err := metrics.NewClusterCollector(reg, "other", stats); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		reg   prometheus.Registerer
		stats func(context.Context) (clusterstats.Stats, error)
		opts  []metrics.ClusterOption
		is    func(error) bool
	}{
		{"nil registerer", nil, stats, nil, nil},
		{"nil stats", prometheus.NewRegistry(), nil, nil, nil},
		{"registered twice", reg, stats, nil, func(err error) bool {
			var are prometheus.AlreadyRegisteredError
			return errors.As(err, &are)
		}},
		{"label clash", prometheus.NewRegistry(), stats,
			[]metrics.ClusterOption{metrics.WithClusterConstLabels(prometheus.Labels{"worker": "x"})}, nil},
		{"bad namespace", prometheus.NewRegistry(), stats, []metrics.ClusterOption{metrics.WithClusterNamespace("a-b")}, nil},
		{"zero timeout", prometheus.NewRegistry(), stats, []metrics.ClusterOption{metrics.WithStatsTimeout(0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := metrics.NewClusterCollector(tt.reg, "jobs", tt.stats, tt.opts...)
			if err == nil || c != nil {
				t.Fatalf("NewClusterCollector = %v, %v; want an error", c, err)
			}
			if tt.is != nil && !tt.is(err) {
				t.Fatalf("error %v does not match", err)
			}
		})
	}
	c, err := metrics.NewClusterCollector(prometheus.NewRegistry(), "jobs", stats, metrics.WithClusterNamespace("app"),
		metrics.WithClusterConstLabels(prometheus.Labels{"service": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(`# HELP app_cluster_workers_connected Workers connected to the cluster's task stream.
# TYPE app_cluster_workers_connected gauge
app_cluster_workers_connected{executor="jobs",service="s"} 0
`), "app_cluster_workers_connected"); err != nil {
		t.Error(err)
	}
}
