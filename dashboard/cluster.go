package dashboard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gofutures/gofutures/cluster/clusterstats"
)

// workerView is a connected worker as the page shows it.
type workerView struct {
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
	stats func(context.Context) (clusterstats.Stats, error)

	mu   sync.Mutex // held while stats runs: callers queue behind one call
	at   time.Time
	last clusterView
}

type clusterView struct {
	Name                  string       `json:"name"`
	Workers               []workerView `json:"workers"`
	StreamDepth           uint64       `json:"streamDepth"`
	AckPending            int          `json:"ackPending"`
	Redeliveries          uint64       `json:"redeliveries"`
	DeliveryLimitFailures uint64       `json:"deliveryLimitFailures"`
	Error                 string       `json:"error,omitempty"`
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
	v := clusterView{Name: c.name, Workers: make([]workerView, 0, len(st.Workers)), StreamDepth: st.StreamDepth,
		AckPending: st.AckPending, Redeliveries: st.Redeliveries, DeliveryLimitFailures: st.DeliveryLimitFailures}
	for _, w := range st.Workers {
		v.Workers = append(v.Workers, workerView{Name: w.Name, ID: w.ID, Host: w.Host,
			Concurrency: w.Concurrency, Running: w.Running, Held: w.Held})
	}
	if err != nil {
		v.Error = err.Error()
	}
	c.at, c.last = time.Now(), v
	return v
}

// call runs the stats function, turning a panic into an error.
func (c *clusterSource) call(ctx context.Context) (st clusterstats.Stats, err error) {
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
