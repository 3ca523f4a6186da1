package process

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
)

// New starts one helper; the others start as tasks wait that the helpers
// still starting will not take, up to WithWorkers (and all of them once one
// is ready: the tests that wait for every helper's pid show that). The
// helper here never becomes ready (it sends no hello), so every count is
// the pool's reaction to the tasks alone.
func TestGrowWithTasks(t *testing.T) {
	p, err := New(fuzzReg, WithWorkers(3), WithHelper("/bin/sh", "-c", "exec sleep 1000"), WithStartTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	workers := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.workers)
	}
	if n := workers(); n != 1 {
		t.Fatalf("New started %d helpers, want 1", n)
	}
	ctx := context.Background()
	for i, want := range []int{1, 2, 3, 3} { // tasks queued: 1, 2, 3, 4
		if _, err := executor.Call(ctx, p, fuzzInc, i); err != nil {
			t.Fatal(err)
		}
		if n := workers(); n != want {
			t.Fatalf("%d tasks queued: %d helpers, want %d", i+1, n, want)
		}
	}
}
