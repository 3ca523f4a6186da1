package metrics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/cluster/clusterstats"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// ClusterOption configures NewClusterCollector.
type ClusterOption interface {
	applyCluster(*clusterConfig)
}

type clusterOptionFunc func(*clusterConfig)

func (f clusterOptionFunc) applyCluster(c *clusterConfig) { f(c) }

type clusterConfig struct {
	namespace   string
	constLabels prometheus.Labels
	timeout     time.Duration
	logger      *zap.Logger
}

// Label names of the cluster series.
const (
	labelWorker   = "worker"
	labelWorkerID = "worker_id"
	labelHost     = "host"
)

// WithClusterNamespace sets the prefix of the cluster series' names:
// letters, digits and underscores, or empty for none. Default "gofutures".
// The Grafana dashboard of this package assumes the default.
func WithClusterNamespace(ns string) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) { c.namespace = ns })
}

// WithClusterConstLabels adds labels with fixed values to every cluster
// series. The map is copied; it must not use the label names executor,
// worker, worker_id or host.
func WithClusterConstLabels(l prometheus.Labels) ClusterOption {
	l = maps.Clone(l)
	return clusterOptionFunc(func(c *clusterConfig) { c.constLabels = l })
}

// WithStatsTimeout sets how long a scrape lets the stats function run: its
// ctx ends after d, and the scrape gives up on it after 1.5·d. Default 2s,
// well below Prometheus' default scrape timeout of 10s.
func WithStatsTimeout(d time.Duration) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) { c.timeout = d })
}

// WithClusterLogger sets the logger that failed scrapes are logged to (at
// Warn). Default zap.NewNop().
func WithClusterLogger(l *zap.Logger) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) {
		if l != nil {
			c.logger = l
		}
	})
}

// ClusterCollector is the Prometheus collector of one cluster executor's
// statistics: on every scrape it calls the executor's stats function and
// reports what it returned. Make one with NewClusterCollector, which
// registers it. It is safe for concurrent use.
type ClusterCollector struct {
	name    string
	stats   func(context.Context) (clusterstats.Stats, error)
	timeout time.Duration
	log     *zap.Logger

	workers, depth, ackPending              *prometheus.Desc
	concurrency, running, held              *prometheus.Desc
	redeliveries, limitFailures, ackLatency *prometheus.Desc
	statsErrors                             *prometheus.Desc

	failed atomic.Uint64 // scrapes that counted in stats_errors_total
	mu     sync.Mutex
	call   *statsCall // the call of stats under way, which scrapes share
}

var _ prometheus.Collector = (*ClusterCollector)(nil)

// statsCall is one call of the stats function.
type statsCall struct {
	done     chan struct{} // closed when the fields below are set
	st       clusterstats.Stats
	err      error
	answered bool // stats returned (it did not panic)
}

// NewClusterCollector makes the collector of the cluster executor called
// name (the value of the executor label, a constant label of its series)
// and registers it on reg, which must not be nil. stats is the executor's
// Stats method (cluster.Executor.Stats), or any function that returns the
// same picture; this package imports only the type (package
// cluster/clusterstats), not a NATS client:
//
//	_, err := metrics.NewClusterCollector(reg, "jobs", ex.Stats)
//
// Every scrape calls stats
// with a ctx that ends after the stats timeout (WithStatsTimeout); scrapes
// that overlap share one call, and a scrape never waits longer than 1.5
// times the timeout, even for a function that ignores its ctx. If stats
// fails, the scrape reports what it returned except the stream depth and
// ack pending gauges, counts the failure in cluster_stats_errors_total and
// logs it; if it panics or does not return in time, the scrape reports only
// that counter. The series, each with the label executor and, per worker,
// worker, worker_id and host:
//
//	gofutures_cluster_workers_connected               gauge
//	gofutures_cluster_worker_concurrency              gauge, per worker
//	gofutures_cluster_worker_tasks_running            gauge, per worker
//	gofutures_cluster_worker_tasks_held               gauge, per worker
//	gofutures_cluster_stream_depth                    gauge
//	gofutures_cluster_ack_pending                     gauge
//	gofutures_cluster_redeliveries_total              counter
//	gofutures_cluster_delivery_limit_failures_total   counter
//	gofutures_cluster_ack_latency_seconds             histogram
//	gofutures_cluster_stats_errors_total              counter
//
// NewClusterCollector fails if stats is nil, if an option is invalid, or if
// registering fails (a second collector for the same name and namespace on
// reg returns an error wrapping prometheus.AlreadyRegisteredError);
// reg.Unregister removes it. It does not block.
func NewClusterCollector(reg prometheus.Registerer, name string, stats func(context.Context) (clusterstats.Stats, error),
	opts ...ClusterOption) (*ClusterCollector, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil Registerer")
	}
	if stats == nil {
		return nil, errors.New("metrics: nil stats function")
	}
	cfg := clusterConfig{namespace: "gofutures", timeout: 2 * time.Second, logger: zap.NewNop()}
	for _, o := range opts {
		o.applyCluster(&cfg)
	}
	if cfg.namespace != "" && !validName.MatchString(cfg.namespace) {
		return nil, fmt.Errorf("metrics: invalid namespace %q", cfg.namespace)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("metrics: stats timeout must be positive, got %v", cfg.timeout)
	}
	labels := prometheus.Labels{labelExecutor: name}
	for k, v := range cfg.constLabels {
		if k == labelExecutor || k == labelWorker || k == labelWorkerID || k == labelHost {
			return nil, fmt.Errorf("metrics: const label %q clashes with a label of this package", k)
		}
		labels[k] = v
	}
	desc := func(n, help string, perWorker bool) *prometheus.Desc {
		var vars []string
		if perWorker {
			vars = []string{labelWorker, labelWorkerID, labelHost}
		}
		return prometheus.NewDesc(prometheus.BuildFQName(cfg.namespace, "cluster", n), help, vars, labels)
	}
	c := &ClusterCollector{
		name: name, stats: stats, timeout: cfg.timeout, log: cfg.logger.With(zap.String(labelExecutor, name)),
		workers:     desc("workers_connected", "Workers connected to the cluster's task stream.", false),
		concurrency: desc("worker_concurrency", "Tasks the worker runs at once.", true),
		running:     desc("worker_tasks_running", "Tasks the worker is running.", true),
		held: desc("worker_tasks_held",
			"Tasks the worker holds: running, prefetched, or with a result on its way.", true),
		depth:      desc("stream_depth", "Tasks waiting in the stream that no worker has been given yet.", false),
		ackPending: desc("ack_pending", "Tasks given to workers and not yet acknowledged.", false),
		redeliveries: desc("redeliveries_total",
			"Tasks given to a worker again after a worker had started them.", false),
		limitFailures: desc("delivery_limit_failures_total",
			"Tasks failed because they used up their deliveries.", false),
		ackLatency: desc("ack_latency_seconds",
			"Time the server took to confirm that it stored a task.", false),
		statsErrors: desc("stats_errors_total",
			"Scrapes that could not read the cluster's statistics, or only part of them.", false),
	}
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *ClusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.workers, c.concurrency, c.running, c.held, c.depth, c.ackPending,
		c.redeliveries, c.limitFailures, c.ackLatency, c.statsErrors,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It calls the stats function (or
// shares the call under way) and waits for it at most 1.5 times the stats
// timeout; it allocates the samples it sends.
func (c *ClusterCollector) Collect(ch chan<- prometheus.Metric) {
	st, answered, err := c.read()
	if err != nil {
		c.failed.Add(1)
		c.log.Warn("cluster statistics not read", zap.Error(err))
	}
	ch <- prometheus.MustNewConstMetric(c.statsErrors, prometheus.CounterValue, float64(c.failed.Load()))
	if !answered {
		return
	}
	seen := make(map[string]bool, len(st.Workers))
	for _, w := range st.Workers {
		if seen[w.ID] {
			continue // one series per worker
		}
		seen[w.ID] = true
		for _, s := range []struct {
			d *prometheus.Desc
			v int
		}{{c.concurrency, w.Concurrency}, {c.running, w.Running}, {c.held, w.Held}} {
			m, err := prometheus.NewConstMetric(s.d, prometheus.GaugeValue, float64(s.v), w.Name, w.ID, w.Host)
			if err != nil { // a label value that is not UTF-8
				c.log.Debug("worker series left out", zap.String("worker", w.ID), zap.Error(err))
				continue
			}
			ch <- m
		}
	}
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, float64(len(seen)))
	if err == nil {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(st.StreamDepth))
		ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(st.AckPending))
	}
	ch <- prometheus.MustNewConstMetric(c.redeliveries, prometheus.CounterValue, float64(st.Redeliveries))
	ch <- prometheus.MustNewConstMetric(c.limitFailures, prometheus.CounterValue, float64(st.DeliveryLimitFailures))
	h := st.AckLatency
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		if i < len(h.Counts) {
			buckets[b.Seconds()] = h.Counts[i]
		}
	}
	ch <- prometheus.MustNewConstHistogram(c.ackLatency, h.Count, h.Sum.Seconds(), buckets)
}

// read returns what the stats function returned; answered is false if it
// panicked or did not return in time (err says which).
func (c *ClusterCollector) read() (st clusterstats.Stats, answered bool, err error) {
	c.mu.Lock()
	call := c.call
	if call == nil {
		call = &statsCall{done: make(chan struct{})}
		c.call = call
		go c.run(call)
	}
	c.mu.Unlock()
	wait := c.timeout + c.timeout/2
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-call.done:
		return call.st, call.answered, call.err
	case <-t.C:
		return clusterstats.Stats{}, false, fmt.Errorf("metrics: the stats function of %s did not return within %v", c.name, wait)
	}
}

// run calls the stats function for call; a scrape that gave up on it
// leaves it running, and later scrapes share it until it returns.
func (c *ClusterCollector) run(call *statsCall) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer func() {
		cancel()
		if r := recover(); r != nil {
			call.st, call.answered = clusterstats.Stats{}, false
			call.err = fmt.Errorf("metrics: the stats function of %s panicked: %v", c.name, r)
		}
		c.mu.Lock()
		c.call = nil
		c.mu.Unlock()
		close(call.done)
	}()
	call.st, call.err = c.stats(ctx)
	call.answered = true
	if call.err != nil {
		call.err = fmt.Errorf("metrics: stats of %s: %w", c.name, call.err)
	}
}
