// Package metrics exports what the executors of this module do as Prometheus
// metrics, fed by their hooks (executor.Hooks) and, for cluster executors,
// by their statistics (NewClusterCollector).
//
// New registers one collector on a prometheus.Registerer that you pass (never
// the global registry unless you pass it); Metrics.Hooks returns the hooks for
// one executor, named by the "executor" label, so any number of executors
// (goroutine pools, process pools, cluster executors) share one registry:
//
//	reg := prometheus.NewRegistry()
//	m, err := metrics.New(reg)
//	...
//	p, err := executor.NewGoPool(executor.WithName("fetch"), executor.WithHooks(m.Hooks("fetch")))
//
// The metrics, with the default namespace "gofutures", each labelled with
// executor:
//
//	gofutures_executor_tasks_submitted_total           counter  tasks accepted
//	gofutures_executor_tasks_finished_total{outcome}   counter  tasks ended: ok, error, panic,
//	                                                             cancelled, timeout, worker_died, stopped
//	gofutures_executor_tasks_queued                    gauge    accepted, not started, not ended
//	gofutures_executor_tasks_in_flight                 gauge    running now
//	gofutures_executor_task_queue_wait_seconds         histogram time from accepted to started
//	gofutures_executor_task_run_seconds                histogram run time of the tasks that ran
//	gofutures_executor_workers                         gauge    workers (goroutines or helper processes) alive
//	gofutures_executor_worker_starts_total             counter  workers started (helper starts for process pools)
//	gofutures_executor_worker_stops_total{reason}      counter  workers stopped: idle, shutdown, init_error,
//	                                                             max_tasks, crashed, timeout, killed
//
// For a GoPool, which counts for itself under the lock it takes for each
// task anyway (executor.Hooks.Own), tasks submitted, queued and in flight
// are read from the pool when Prometheus scrapes; its hooks see only the
// tasks that end and the times measured. For the other executors the gauges
// are derived from the counters when Prometheus scrapes: queued = submitted
// − started − ended without running; in flight = started − ended after
// running. Either way, a task cancelled while it waits counts as queued
// until the executor drops it, and executors sharing a name add up.
//
// Cost: per task, the hooks do one atomic addition on a GoPool and three on
// the other executors (plus two per histogram for the tasks timed), on
// counters sharded by goroutine so that workers on different cores rarely
// share a cache line; no locks, lookups or allocations (about 15ns per task
// with three additions, BenchmarkHooks). Reading the clock costs more: three
// reads per task cost about as much as a trivial goroutine task. So when
// tasks arrive faster than one per 5µs a GoPool times only a sample of them,
// down to one in 256 (Hooks.TimeEvery, WithTimingSample); the counters and
// gauges stay exact, the two histograms hold the sample.
// BenchmarkOverhead compares a GoPool running trivial tasks with and without
// metrics. A scrape takes a read lock and allocates the samples.
//
// # Cluster executors
//
// A cluster executor (package cluster) also knows things that no hook sees:
// the workers connected to its task stream, the tasks waiting there, the
// tasks redelivered. NewClusterCollector reports them on every scrape by
// calling the executor's Stats method. This package imports only the type
// it returns (package cluster/clusterstats, standard library only), so it
// links no NATS client into programs without a cluster:
//
//	_, err := metrics.NewClusterCollector(reg, "jobs", ex.Stats) // ex is a *cluster.Executor
//
// The series, each labelled with executor (and, per worker, worker,
// worker_id and host):
//
//	gofutures_cluster_workers_connected               gauge    workers announcing themselves
//	gofutures_cluster_worker_concurrency              gauge    tasks the worker runs at once
//	gofutures_cluster_worker_tasks_running            gauge    tasks the worker is running
//	gofutures_cluster_worker_tasks_held               gauge    tasks it holds: running, prefetched, result on its way
//	gofutures_cluster_stream_depth                    gauge    tasks waiting in the stream, given to no worker
//	gofutures_cluster_ack_pending                     gauge    tasks given to workers, not yet acknowledged
//	gofutures_cluster_redeliveries_total              counter  tasks given again after a worker had started them
//	gofutures_cluster_delivery_limit_failures_total   counter  tasks failed with their deliveries used up
//	gofutures_cluster_ack_latency_seconds             histogram time the server took to confirm a stored task
//	gofutures_cluster_stats_errors_total              counter  scrapes that could not read (all of) the statistics
//
// A scrape waits for the stats at most 1.5 times WithStatsTimeout (default
// 2s), whatever the function does, and reports a failure in
// gofutures_cluster_stats_errors_total (and the log) instead of failing the
// whole scrape. The per-worker counts are as the workers last announced
// them, at most a second old. Every executor of one stream sees the same
// workers and the same stream, so aggregate those series with max, not
// sum, across executors.
//
// dashboard.json in this directory is a Grafana dashboard for these metrics,
// with an $executor variable; its Cluster row shows the cluster series.
package metrics
