package dashboard

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ClusterStats is what the dashboard shows of a cluster executor, in this
// package's own terms so that the package does not depend on package
// cluster. For a *cluster.Executor, package dashboard/clusterdash makes
// the function that returns it.
type ClusterStats struct {
	// Workers are the workers connected now.
	Workers []ClusterWorker
	// StreamDepth is the number of tasks waiting in the stream that no
	// worker has been given yet.
	StreamDepth uint64
	// AckPending is the number of tasks given to workers and not yet
	// acknowledged.
	AckPending int
	// Redeliveries counts the tasks given to a worker again after a worker
	// had started them (it only grows).
	Redeliveries uint64
	// DeliveryLimitFailures counts the tasks that failed because they used
	// up their deliveries (it only grows).
	DeliveryLimitFailures uint64
}

// ClusterWorker is one connected worker of ClusterStats.
type ClusterWorker struct {
	Name        string // the worker's name
	ID          string // unique to the worker's run
	Host        string // the host it runs on
	Concurrency int    // tasks it runs at once
	Running     int    // tasks it is running
	Held        int    // tasks it holds: running, prefetched, or with a result on its way
}

// clusterSource is a registered cluster executor. Its stats function is
// called only when a page asks, at most once per refresh interval; pages
// that ask meanwhile share the last answer.
type clusterSource struct {
	name  string
	stats func(context.Context) (ClusterStats, error)

	mu   sync.Mutex // held while stats runs: callers queue behind one call
	at   time.Time
	last clusterView
}

type clusterView struct {
	Name                  string          `json:"name"`
	Workers               []ClusterWorker `json:"workers"`
	StreamDepth           uint64          `json:"streamDepth"`
	AckPending            int             `json:"ackPending"`
	Redeliveries          uint64          `json:"redeliveries"`
	DeliveryLimitFailures uint64          `json:"deliveryLimitFailures"`
	Error                 string          `json:"error,omitempty"`
}

func (c *clusterSource) view(ctx context.Context, fresh time.Duration, timeout time.Duration) clusterView {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < fresh {
		return c.last
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := c.call(ctx)
	v := clusterView{Name: c.name, Workers: st.Workers, StreamDepth: st.StreamDepth, AckPending: st.AckPending,
		Redeliveries: st.Redeliveries, DeliveryLimitFailures: st.DeliveryLimitFailures}
	if v.Workers == nil {
		v.Workers = []ClusterWorker{}
	}
	if err != nil {
		v.Error = err.Error()
	}
	c.at, c.last = time.Now(), v
	return v
}

// call runs the stats function, turning a panic into an error.
func (c *clusterSource) call(ctx context.Context) (st ClusterStats, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("dashboard: cluster stats of %q panicked: %v", c.name, p)
		}
	}()
	st, err = c.stats(ctx)
	if err != nil {
		err = fmt.Errorf("dashboard: cluster stats of %q: %w", c.name, err)
	}
	return st, err
}
