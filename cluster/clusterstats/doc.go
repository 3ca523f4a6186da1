// Package clusterstats holds the statistics a cluster executor reports
// (cluster.Executor.Stats): its connected workers, its stream's depth,
// redeliveries, delivery-limit failures and the server's ack latency.
//
// The types live apart from package cluster, and import nothing but the
// standard library, so that package metrics and package dashboard can take
// ex.Stats without linking a NATS client into programs that use no cluster:
//
//	metrics.NewClusterCollector(reg, "jobs", ex.Stats) // Prometheus
//	d.Cluster("jobs", ex.Stats)                       // the live dashboard
package clusterstats
