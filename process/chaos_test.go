package process_test

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

// TestChaos runs 10,000 tasks while helpers are killed at random: every task
// either succeeds or fails with the dead-worker error; none is lost, none
// finishes twice.
func TestChaos(t *testing.T) {
	const n = 10_000
	var submitted, finished, crashed atomic.Int64
	hooks := &executor.Hooks{
		Submitted: func() { submitted.Add(1) },
		Finished:  func(executor.Finish) { finished.Add(1) },
		WorkerStopped: func(r executor.WorkerExit) {
			if r == executor.ExitCrashed {
				crashed.Add(1)
			}
		},
	}
	p := newPool(t, process.WithWorkers(2), process.WithHooks(hooks))
	ctx := ctxT(t)
	fs := make([]*future.Future[int], n)
	callbacks := make([]atomic.Int32, n)
	for i := range n {
		f, err := executor.Call(ctx, p, incFn, i)
		if err != nil {
			t.Fatal(err)
		}
		f.AddDoneCallback(func(*future.Future[int]) { callbacks[i].Add(1) })
		fs[i] = f
	}
	// Kill a random helper every few milliseconds until the work is done.
	allDone := make(chan struct{})
	killerDone := make(chan int)
	go func() {
		kills := 0
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-allDone:
				killerDone <- kills
				return
			case <-tick.C:
				if pids := p.Pids(); len(pids) > 0 {
					if syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGKILL) == nil {
						kills++
					}
				}
			}
		}
	}()
	ok, died := 0, 0
	for i, f := range fs {
		v, err := f.Result(ctx)
		switch {
		case err == nil && v == i+1:
			ok++
		case errors.Is(err, executor.ErrWorkerDied):
			died++
		default:
			close(allDone)
			<-killerDone
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	close(allDone)
	kills := <-killerDone
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ok, %d failed with a dead worker, %d kills, %d crashed helpers", ok, died, kills, crashed.Load())
	if kills == 0 || crashed.Load() == 0 {
		t.Fatalf("no helper was killed (%d kills)", kills)
	}
	if died > int(crashed.Load()) {
		t.Fatalf("%d tasks failed for %d dead helpers: only the running task may fail", died, crashed.Load())
	}
	if submitted.Load() != n || finished.Load() != n {
		t.Fatalf("hooks: %d submitted, %d finished, want %d", submitted.Load(), finished.Load(), n)
	}
	for i := range callbacks {
		if c := callbacks[i].Load(); c != 1 {
			t.Fatalf("task %d completed %d times", i, c)
		}
	}
}
