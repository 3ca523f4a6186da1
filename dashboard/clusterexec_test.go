package dashboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
)

// TestClusterExecutor shows a real cluster executor, given as ex.Stats: the
// stream depth of a task no worker took, then the worker that took it.
func TestClusterExecutor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ex, err := cluster.New(ctx, reg, cluster.WithName("jobs"), cluster.WithToken("t0ken"), cluster.WithStoreDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ex.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	d, err := dashboard.New(dashboard.WithRefresh(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d.Cluster("jobs", ex.Stats)
	f, err := executor.Call(ctx, ex, double, 21)
	if err != nil {
		t.Fatal(err)
	}
	// The page's answer is at most one refresh interval old: ask again
	// until it shows what happened.
	poll := func(what string, cond func(st state) bool) {
		t.Helper()
		for st := get(t, d); !cond(st); st = get(t, d) {
			if ctx.Err() != nil {
				t.Fatalf("gave up waiting for %s: %+v", what, st.Clusters)
			}
			time.Sleep(10 * time.Millisecond) // polling: cond decides
		}
	}
	poll("a task in the stream", func(st state) bool { return len(st.Clusters) == 1 && st.Clusters[0].StreamDepth == 1 })

	w, err := cluster.NewWorker(reg, cluster.WithURL(ex.URL()), cluster.WithToken("t0ken"), cluster.WithName("w1"), cluster.WithConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stopWorker(); <-done }()
	if v, err := f.Result(ctx); v != 42 || err != nil {
		t.Fatalf("double(21) = %v, %v", v, err)
	}
	poll("the worker", func(st state) bool {
		c := st.Clusters[0]
		return len(c.Workers) == 1 && c.Workers[0].Name == "w1" && c.StreamDepth == 0
	})
}
