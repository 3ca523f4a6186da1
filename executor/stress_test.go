package executor_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// stressRecord is what the stress test knows about one task.
type stressRecord struct {
	fut   atomic.Pointer[future.Future[int]]
	ran   atomic.Int32 // times the task body ran
	calls atomic.Int32 // times its done-callback ran
}

// TestStressSubmitCancel submits 1,000,000 tasks from several goroutines
// while other goroutines cancel futures at random, and checks that every
// future resolves exactly once (its done-callback runs once), that a
// cancelled future's task never ran and its Result is ErrCancelled, that a
// finished future holds its task's value, and that nothing leaks (TestMain's
// goleak). Under the race detector (raceEnabled, from race_on_test.go), or
// with -short, it runs 100,000 tasks instead: the full million takes about
// 9 s and 1.5 GB under -race on two idle cores, too much next to the rest of
// the package; without -race it takes under a second.
//
// To make sure both outcomes occur whatever the scheduling, the pool's
// workers are first held by blocking tasks until the cancellers have
// cancelled minCancels futures (or have given up); the rest of the run is
// free, with cancellers racing the workers.
func TestStressSubmitCancel(t *testing.T) {
	total := 1_000_000
	if testing.Short() || raceEnabled {
		total = 100_000
	}
	const (
		workers     = 8
		submitters  = 4
		cancellers  = 3
		minCancels  = 1_000
		cancelShare = 4 // cancellers together try to cancel total/cancelShare futures
	)
	per := total / submitters
	total = per * submitters
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d tasks, %d workers, %d submitters, %d cancellers, seed %d", total, workers, submitters, cancellers, seed)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := executor.NewGoPool(executor.WithWorkers(workers))
	if err != nil {
		t.Fatal(err)
	}
	shutdownDone := false
	defer func() {
		if !shutdownDone {
			_ = p.Stop(context.Background())
		}
	}()

	recs := make([]stressRecord, total)
	var (
		resolved, finishedCB, cancelledCB, duplicateCB atomic.Int64
		allResolved                                    = make(chan struct{})
		enoughCancels                                  = make(chan struct{})
		enoughOnce                                     sync.Once
	)
	// published[s] counts the futures submitter s has stored, so that a
	// canceller only picks futures that exist.
	var published [submitters]atomic.Int64

	// Hold every worker until the cancellers have had their chance on a
	// full queue.
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseAll() // a failing test must not leave the holders blocked
	var holders []*future.Future[int]
	for range workers {
		f, err := executor.Submit(ctx, p, func(context.Context) (int, error) {
			<-release
			return 0, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		holders = append(holders, f)
	}

	var submitWG, cancelWG sync.WaitGroup
	submitErrs := make(chan error, submitters)
	for s := range submitters {
		submitWG.Go(func() {
			for j := range per {
				i := s*per + j
				r := &recs[i]
				f, err := executor.Submit(ctx, p, func(context.Context) (int, error) {
					r.ran.Add(1)
					return 2*i + 1, nil
				})
				if err != nil {
					submitErrs <- err
					return
				}
				f.AddDoneCallback(func(f *future.Future[int]) {
					if r.calls.Add(1) != 1 {
						duplicateCB.Add(1)
						return
					}
					switch f.State() {
					case future.Finished:
						finishedCB.Add(1)
					case future.Cancelled:
						if cancelledCB.Add(1) == minCancels {
							enoughOnce.Do(func() { close(enoughCancels) })
						}
					}
					if resolved.Add(1) == int64(total) {
						close(allResolved)
					}
				})
				r.fut.Store(f)
				published[s].Store(int64(j + 1))
			}
		})
	}
	var cancelTrue, cancelledAtRelease atomic.Int64
	for c := range cancellers {
		cancelWG.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			for tries := total / cancelShare / cancellers; tries > 0; {
				s := rng.IntN(submitters)
				n := published[s].Load()
				if n == 0 {
					runtime.Gosched() // nothing submitted yet
					continue
				}
				// Half the picks near the submitter's frontier, where futures
				// are most likely still pending, half anywhere.
				var j int64
				if rng.IntN(2) == 0 {
					j = n - 1 - rng.Int64N(min(n, 256))
				} else {
					j = rng.Int64N(n)
				}
				if recs[int64(s*per)+j].fut.Load().Cancel() {
					cancelTrue.Add(1)
				}
				tries--
			}
		})
	}
	go func() {
		select {
		case <-enoughCancels:
		case <-waitGroupDone(&cancelWG):
		}
		cancelledAtRelease.Store(cancelledCB.Load())
		releaseAll()
	}()

	submitWG.Wait()
	close(submitErrs)
	for err := range submitErrs {
		t.Fatalf("Submit: %v", err)
	}
	cancelWG.Wait()
	select {
	case <-allResolved:
	case <-ctx.Done():
		t.Fatalf("only %d of %d futures resolved (callbacks) before the timeout", resolved.Load(), total)
	}
	for _, h := range holders {
		if _, err := h.Result(ctx); err != nil {
			t.Fatalf("holder task: %v", err)
		}
	}
	shutdownDone = true
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, executor.ErrShutdown) {
		t.Fatalf("Submit after Shutdown: got %v, want ErrShutdown", err)
	}

	// Every worker has exited: each record is final now.
	var finished, cancelled int
	for i := range recs {
		r := &recs[i]
		f := r.fut.Load()
		if c := r.calls.Load(); c != 1 {
			t.Fatalf("task %d: done-callback ran %d times", i, c)
		}
		v, err := f.Result(ctx)
		switch st := f.State(); st {
		case future.Finished:
			finished++
			if err != nil || v != 2*i+1 {
				t.Fatalf("task %d: finished with (%d, %v), want (%d, nil)", i, v, err, 2*i+1)
			}
			if n := r.ran.Load(); n != 1 {
				t.Fatalf("task %d: finished but its body ran %d times", i, n)
			}
		case future.Cancelled:
			cancelled++
			if !errors.Is(err, future.ErrCancelled) {
				t.Fatalf("task %d: cancelled but Result error is %v", i, err)
			}
			if n := r.ran.Load(); n != 0 {
				t.Fatalf("task %d: cancelled but its body ran %d times", i, n)
			}
		default:
			t.Fatalf("task %d: state %v after Shutdown", i, st)
		}
	}
	t.Logf("finished %d, cancelled %d (%d while the workers were held; Cancel returned true %d times)",
		finished, cancelled, cancelledAtRelease.Load(), cancelTrue.Load())
	if d := duplicateCB.Load(); d != 0 {
		t.Fatalf("%d done-callbacks ran more than once", d)
	}
	if finished+cancelled != total || int64(finished) != finishedCB.Load() || int64(cancelled) != cancelledCB.Load() {
		t.Fatalf("finished %d + cancelled %d != %d tasks, or callbacks saw %d + %d",
			finished, cancelled, total, finishedCB.Load(), cancelledCB.Load())
	}
	if cancelled < minCancels || finished == 0 {
		t.Fatalf("want at least %d cancelled and some finished, got %d cancelled, %d finished", minCancels, cancelled, finished)
	}
}

// waitGroupDone returns a channel closed when wg's counter reaches zero.
func waitGroupDone(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		wg.Wait()
		close(c)
	}()
	return c
}
