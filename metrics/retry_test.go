package metrics_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
)

type temporary struct{}

func (temporary) Error() string   { return "temporary" }
func (temporary) Temporary() bool { return true }

// Each retry counts in task_retries_total, and each attempt as a task.
func TestRetriesCounted(t *testing.T) {
	reg, m := newMetrics(t)
	p := newPool(t, m, "r", 2)
	var n atomic.Int32
	fn := executor.Fn(func(context.Context, int) (int, error) {
		if n.Add(1) < 3 {
			return 0, temporary{}
		}
		return 1, nil
	})
	ctx := context.Background()
	retry := executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond))
	f, err := executor.Call(ctx, p, fn, 0, retry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil { // every hook has been called
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if c := mt.GetCounter(); c != nil {
				got[mf.GetName()] += c.GetValue()
			}
		}
	}
	if got["gofutures_executor_task_retries_total"] != 2 || got["gofutures_executor_tasks_submitted_total"] != 3 {
		t.Fatalf("retries %v, submitted %v; want 2 and 3", got["gofutures_executor_task_retries_total"], got["gofutures_executor_tasks_submitted_total"])
	}
}
