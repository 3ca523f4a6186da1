// Package clustermetrics exports the statistics of a cluster.Executor (its
// connected workers, its stream's depth, redeliveries, delivery-limit
// failures and the server's ack latency) as Prometheus metrics, through
// package metrics:
//
//	reg := prometheus.NewRegistry()
//	_, err := clustermetrics.Register(reg, "jobs", ex)
//
// It is a package of its own so that package metrics does not link a NATS
// client into programs that do not use a cluster. The Grafana dashboard of
// package metrics (dashboard.json) has a Cluster row for these series.
package clustermetrics
