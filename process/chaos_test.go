package process_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

// TestChaos runs thousands of tasks while helpers die, on events rather than
// a clock: tasks chosen by a seeded schedule crash their own helper, and a
// killer strikes a random helper after every k replies. Every task resolves
// once; every task that succeeded ran exactly once (its executions are
// counted in a log); only crashers and tasks whose helper was killed under
// them fail, with the dead-worker error, and none of those ran twice.
func TestChaos(t *testing.T) {
	const n, k, crashEvery = 3000, 40, 100
	rng := rand.New(rand.NewPCG(9, 1)) // the schedule is the same every run
	var submitted, finished atomic.Int64
	hooks := &executor.Hooks{
		Submitted: func() { submitted.Add(1) },
		Finished:  func(executor.Finish) { finished.Add(1) },
	}
	p := newPool(t, process.WithWorkers(2), process.WithHooks(hooks))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not a pace
	defer cancel()
	log := newLog(t)

	strike := make(chan struct{}, n)
	var replies atomic.Int64
	kills := make(chan int)
	go func() {
		kr := rand.New(rand.NewPCG(9, 2))
		killed := 0
		for range strike {
			if pids := p.Pids(); len(pids) > 0 && syscall.Kill(pids[kr.IntN(len(pids))], syscall.SIGKILL) == nil {
				killed++
			}
		}
		kills <- killed
	}()

	fs := make([]*future.Future[int], n)
	crasher := make([]bool, n)
	callbacks := make([]atomic.Int32, n)
	var inCallbacks sync.WaitGroup // a future is done before its callbacks return
	inCallbacks.Add(n)
	for i := range n {
		crasher[i] = rng.IntN(crashEvery) == 0
		f, err := executor.Call(ctx, p, effectFn, effect{Log: log, ID: i, Crash: crasher[i]})
		if err != nil {
			t.Fatal(err)
		}
		f.AddDoneCallback(func(*future.Future[int]) {
			defer inCallbacks.Done()
			callbacks[i].Add(1)
			if replies.Add(1)%k == 0 {
				strike <- struct{}{}
			}
		})
		fs[i] = f
	}
	ok, crashed, killedUnder := 0, 0, 0
	for i, f := range fs {
		v, err := f.Result(ctx)
		switch {
		case err == nil && v == i && !crasher[i]:
			ok++
		case errors.Is(err, executor.ErrWorkerDied) && crasher[i]:
			crashed++
		case errors.Is(err, executor.ErrWorkerDied):
			killedUnder++
		default:
			t.Fatalf("task %d (crasher %v): %d, %v", i, crasher[i], v, err)
		}
	}
	inCallbacks.Wait()
	close(strike)
	killed := <-kills
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ok, %d crashers, %d killed under a task; %d kills", ok, crashed, killedUnder, killed)

	ran := executions(t, log)
	for i, f := range fs {
		if c := callbacks[i].Load(); c != 1 {
			t.Errorf("task %d completed %d times", i, c)
		}
		if s, _ := f.Successful(); s {
			if ran[i] != 1 {
				t.Errorf("task %d succeeded and ran %d times", i, ran[i])
			}
		} else if ran[i] > 1 {
			t.Errorf("task %d failed and ran %d times", i, ran[i])
		}
	}
	if killed == 0 || crashed == 0 {
		t.Fatalf("no chaos: %d kills, %d crashers", killed, crashed)
	}
	if killedUnder > killed {
		t.Errorf("%d tasks failed for %d kills: only the running task may fail", killedUnder, killed)
	}
	if submitted.Load() != n || finished.Load() != n {
		t.Errorf("hooks: %d submitted, %d finished, want %d", submitted.Load(), finished.Load(), n)
	}
}
