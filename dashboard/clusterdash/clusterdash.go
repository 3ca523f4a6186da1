package clusterdash

import (
	"context"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/dashboard"
)

// Stats returns a function that reads ex.Stats and copies it into a
// dashboard.ClusterStats, for Dashboard.Cluster. It blocks as ex.Stats does
// (one request to the NATS server, until ctx ends); the dashboard calls it
// only while a page is open, at most once per refresh interval. When
// ex.Stats fails, what it returned (everything but the stream depth and
// ack pending) is still copied, and the error returned with it.
func Stats(ex *cluster.Executor) func(context.Context) (dashboard.ClusterStats, error) {
	return func(ctx context.Context) (dashboard.ClusterStats, error) {
		s, err := ex.Stats(ctx)
		out := dashboard.ClusterStats{
			StreamDepth: s.StreamDepth, AckPending: s.AckPending,
			Redeliveries: s.Redeliveries, DeliveryLimitFailures: s.DeliveryLimitFailures,
		}
		for _, w := range s.Workers {
			out.Workers = append(out.Workers, dashboard.ClusterWorker{Name: w.Name, ID: w.ID, Host: w.Host,
				Concurrency: w.Concurrency, Running: w.Running, Held: w.Held})
		}
		return out, err
	}
}
