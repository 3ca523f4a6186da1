package clustermetrics

import (
	"context"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Register exports the statistics of ex on reg, under the executor label
// name: metrics.NewClusterCollector with Stats(ex). See
// metrics.NewClusterCollector for the series, the options and the errors.
func Register(reg prometheus.Registerer, name string, ex *cluster.Executor, opts ...metrics.ClusterOption) (*metrics.ClusterCollector, error) {
	return metrics.NewClusterCollector(reg, name, Stats(ex), opts...)
}

// Stats returns a function that reads ex.Stats and copies it into a
// metrics.ClusterStats. When ex.Stats fails (it could not read the
// stream), what it returned still holds everything else, and so does the
// copy, with the error.
func Stats(ex *cluster.Executor) func(context.Context) (metrics.ClusterStats, error) {
	return func(ctx context.Context) (metrics.ClusterStats, error) {
		s, err := ex.Stats(ctx)
		out := metrics.ClusterStats{
			StreamDepth: s.StreamDepth, AckPending: s.AckPending,
			Redeliveries: s.Redeliveries, DeliveryLimitFailures: s.DeliveryLimitFailures,
			AckLatency: metrics.Histogram{Count: s.AckLatency.Count, Sum: s.AckLatency.Sum.Seconds(),
				Buckets: make(map[float64]uint64, len(s.AckLatency.Bounds))},
		}
		for i, b := range s.AckLatency.Bounds {
			out.AckLatency.Buckets[b.Seconds()] = s.AckLatency.Counts[i]
		}
		for _, w := range s.Workers {
			out.Workers = append(out.Workers, metrics.ClusterWorker{Name: w.Name, ID: w.ID, Host: w.Host,
				Concurrency: w.Concurrency, Running: w.Running, Held: w.Held})
		}
		return out, err
	}
}
