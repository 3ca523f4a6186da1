package metrics_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// waitForWorkers waits until n workers have announced themselves to ex
// (their first announcement comes as they start), for at most 30s.
func waitForWorkers(ex *cluster.Executor, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := ex.Stats(ctx)
		if err == nil && len(st.Workers) == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d workers not seen: %w (last error %v)", n, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// ExampleNewClusterCollector exports the statistics of a cluster executor:
// its workers, its stream's depth, redeliveries and the server's ack
// latency. A worker joins, and the next scrape shows it.
func ExampleNewClusterCollector() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ex, err := cluster.New(ctx, clusterReg, cluster.WithName("jobs"), cluster.WithToken("example-token"),
		cluster.WithStoreDir(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer ex.Shutdown(ctx)
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewClusterCollector(reg, "jobs", ex.Stats); err != nil {
		log.Fatal(err)
	}

	// A worker joins; in production it runs on another machine.
	w, err := cluster.NewWorker(clusterReg, cluster.WithURL(ex.URL()), cluster.WithToken("example-token"),
		cluster.WithName("gpu-1"), cluster.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stopWorker(); <-done }()
	if err := waitForWorkers(ex, 1); err != nil {
		log.Fatal(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "gofutures_cluster_workers_connected", "gofutures_cluster_worker_concurrency":
			for _, mt := range mf.GetMetric() {
				fmt.Print(mf.GetName())
				for _, l := range mt.GetLabel() {
					if l.GetName() == "executor" || l.GetName() == "worker" {
						fmt.Printf(" %s=%s", l.GetName(), l.GetValue())
					}
				}
				fmt.Println(":", mt.GetGauge().GetValue())
			}
		}
	}
	// Output:
	// gofutures_cluster_worker_concurrency executor=jobs worker=gpu-1: 4
	// gofutures_cluster_workers_connected executor=jobs: 1
}
