package clusterdash_test

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/dashboard/clusterdash"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
	"go.uber.org/goleak"
)

var reg = process.NewRegistry()

var double = process.MustRegister(reg, "clusterdash_test.double", func(_ context.Context, n int) (int, error) {
	return 2 * n, nil
})

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// TestStats reads a real cluster executor's stats through the adapter:
// the stream depth of tasks no worker took, then the worker that took them.
func TestStats(t *testing.T) {
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
	stats := clusterdash.Stats(ex)
	f, err := executor.Call(ctx, ex, double, 21)
	if err != nil {
		t.Fatal(err)
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond) // polling: cond decides
		}
	}
	poll("a task in the stream", func() bool { st, err := stats(ctx); return err == nil && st.StreamDepth == 1 })

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
	poll("the worker", func() bool {
		st, err := stats(ctx)
		return err == nil && len(st.Workers) == 1 && st.Workers[0].Name == "w1" && st.Workers[0].Concurrency == 2 && st.StreamDepth == 0
	})
}
