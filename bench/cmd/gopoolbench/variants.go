package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/panjf2000/ants/v2"
	"github.com/sourcegraph/conc/pool"
)

// A variant runs n trivial tasks (i -> i+1) through one way of running
// goroutines. setup builds the pool outside the timed region and returns:
// run, called in the timed region once per batch (submit tasks lo..hi-1,
// call mark once they are submitted, then wait for all of them), and check,
// which releases the pool and verifies every result, outside the timed region.
type variant struct {
	name   string
	sized  bool // whether the pool size applies
	future bool // whether each submit returns a waitable handle
	setup  func(size, n int, out []int) (run func(lo, hi int, mark func()), check func() error)
}

// checkOut verifies that the tasks that write into out did their work, and
// clears it for the next variant.
func checkOut(out []int) error {
	for i, v := range out {
		if v != i+1 {
			return fmt.Errorf("task %d: got %d, want %d", i, v, i+1)
		}
	}
	clear(out)
	return nil
}

func checkSum(name string, sum, n int) error {
	if want := n * (n + 1) / 2; sum != want {
		return fmt.Errorf("%s: sum of results %d, want %d", name, sum, want)
	}
	return nil
}

const releaseTimeout = 30 * time.Second

var variants = []variant{
	{
		name: "goroutines + WaitGroup",
		setup: func(_, _ int, out []int) (func(lo, hi int, mark func()), func() error) {
			return func(lo, hi int, mark func()) {
					var wg sync.WaitGroup
					wg.Add(hi - lo)
					for i := lo; i < hi; i++ {
						go func() {
							out[i] = i + 1
							wg.Done()
						}()
					}
					mark()
					wg.Wait()
				}, func() error {
					return checkOut(out)
				}
		},
	},
	{
		name: "ants Pool.Submit + WaitGroup", sized: true,
		setup: func(size, n int, out []int) (func(lo, hi int, mark func()), func() error) {
			p, err := ants.NewPool(size)
			if err != nil {
				panic(err)
			}
			var submitErr error
			return func(lo, hi int, mark func()) {
					var wg sync.WaitGroup
					wg.Add(hi - lo)
					for i := lo; i < hi; i++ {
						if err := p.Submit(func() {
							out[i] = i + 1
							wg.Done()
						}); err != nil {
							submitErr = err
							wg.Done()
						}
					}
					mark()
					wg.Wait()
				}, func() error {
					if err := p.ReleaseTimeout(releaseTimeout); err != nil {
						return err
					}
					if submitErr != nil {
						return submitErr
					}
					return checkOut(out)
				}
		},
	},
	{
		name: "pond/v2 Pool.Submit + Task.Wait", sized: true, future: true,
		setup: func(size, n int, out []int) (func(lo, hi int, mark func()), func() error) {
			p := pond.NewPool(size)
			tasks := make([]pond.Task, n)
			var waitErr error
			return func(lo, hi int, mark func()) {
					for i := lo; i < hi; i++ {
						tasks[i] = p.Submit(func() { out[i] = i + 1 })
					}
					mark()
					for k, t := range tasks[lo:hi] {
						tasks[lo+k] = nil // handled: drop it, as a caller would
						if err := t.Wait(); err != nil {
							waitErr = err
						}
					}
				}, func() error {
					p.StopAndWait()
					clear(tasks)
					if waitErr != nil {
						return waitErr
					}
					return checkOut(out)
				}
		},
	},
	{
		name: "pond/v2 ResultPool.Submit + Wait (value)", sized: true, future: true,
		setup: func(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
			p := pond.NewResultPool[int](size)
			tasks := make([]pond.ResultTask[int], n)
			var sum int
			var waitErr error
			return func(lo, hi int, mark func()) {
					for i := lo; i < hi; i++ {
						tasks[i] = p.Submit(func() int { return i + 1 })
					}
					mark()
					for k, t := range tasks[lo:hi] {
						tasks[lo+k] = nil // handled: drop it, as a caller would
						v, err := t.Wait()
						if err != nil {
							waitErr = err
						}
						sum += v
					}
				}, func() error {
					p.StopAndWait()
					clear(tasks)
					if waitErr != nil {
						return waitErr
					}
					return checkSum("pond result", sum, n)
				}
		},
	},
	{
		name: "conc pool.Go + Wait", sized: true,
		setup: func(size, n int, out []int) (func(lo, hi int, mark func()), func() error) {
			return func(lo, hi int, mark func()) {
					// A conc pool cannot be reused after Wait: one per batch.
					p := pool.New().WithMaxGoroutines(size)
					for i := lo; i < hi; i++ {
						p.Go(func() { out[i] = i + 1 })
					}
					mark()
					p.Wait()
				}, func() error {
					return checkOut(out)
				}
		},
	},
	{
		name: "**ours** executor.Submit + Result", sized: true, future: true,
		setup: oursSubmit,
	},
	{
		name: oursCallName, sized: true, future: true,
		setup: oursCall,
	},
	{
		name: oursSubmitCtxName, sized: true, future: true,
		setup: oursSubmitCtx,
	},
	{
		name: oursCallCtxName, sized: true, future: true,
		setup: oursCallCtx,
	},
	{
		name: oursCallCtxPerTaskName, sized: true, future: true,
		setup: oursCallCtxPerTask,
	},
	{
		name: oursDashName, sized: true, future: true,
		setup: oursDashboard(0),
	},
	{
		name: oursDashPolledName, sized: true, future: true,
		setup: oursDashboard(dashPollEvery),
	},
}

// oursName is the variant the ratios are taken against.
const oursName = "**ours** executor.Submit + Result"

// oursCallName is ours without a closure per task.
const oursCallName = "ours executor.Call(Fn, i) + Result"

// The same two, submitted with one cancellable ctx for the whole run instead
// of context.Background(), and Call with a ctx of its own per task.
const (
	oursSubmitCtxName      = "ours executor.Submit + Result, cancellable ctx"
	oursCallCtxName        = "ours executor.Call(Fn, i) + Result, cancellable ctx"
	oursCallCtxPerTaskName = "ours executor.Call(Fn, i) + Result, WithCancel ctx per task"
)

func newGoPool(size int) *executor.GoPool {
	p, err := executor.NewGoPool(executor.WithWorkers(size))
	if err != nil {
		panic(err)
	}
	return p
}

func shutdown(p *executor.GoPool) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	return p.Shutdown(ctx)
}

// oursSubmit is the variant the targets are about: a closure per
// task (as for every other variant), a future per task, every Result waited.
func oursSubmit(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
	return ours("ours", size, n, context.Background(), submitClosure)
}

func submitClosure(ctx context.Context, p *executor.GoPool, i int) (*future.Future[int], error) {
	return executor.Submit(ctx, p, func(context.Context) (int, error) { return i + 1, nil })
}

func callInc(ctx context.Context, p *executor.GoPool, i int) (*future.Future[int], error) {
	return executor.Call(ctx, p, inc, i)
}

// oursSubmitCtx is oursSubmit with a cancellable ctx (one context.WithCancel,
// made outside the timed region, for every task): the tasks run with a
// context derived from it.
func oursSubmitCtx(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
	return oursCancellable("ours ctx", size, n, submitClosure)
}

// oursCallCtx is oursCall with a cancellable ctx.
func oursCallCtx(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
	return oursCancellable("ours call ctx", size, n, callInc)
}

func oursCancellable(name string, size, n int, submit func(context.Context, *executor.GoPool, int) (*future.Future[int], error)) (func(lo, hi int, mark func()), func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	run, check := ours(name, size, n, ctx, submit)
	return run, func() error {
		defer cancel()
		return check()
	}
}

// oursCallCtxPerTask is oursCall where every task has a context.WithCancel
// of its own, made in the timed region and cancelled once its Result is in,
// as a server submitting one task per request does: the caller's own
// WithCancel (two allocations) is counted too.
func oursCallCtxPerTask(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
	cancels := make([]context.CancelFunc, n)
	return oursWith("ours call ctx per task", size, n, func(_ context.Context, p *executor.GoPool, i int) (*future.Future[int], error) {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		return executor.Call(ctx, p, inc, i)
	}, func(i int) {
		cancels[i]()
		cancels[i] = nil
	})
}

var inc = executor.Fn(func(_ context.Context, x int) (int, error) { return x + 1, nil })

// oursCall passes the argument instead of capturing it, as Python's
// submit(fn, i) does: no closure is allocated per task.
func oursCall(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
	return ours("ours call", size, n, context.Background(), callInc)
}

// ours measures our GoPool: submit tasks lo..hi with submit and ctx, then
// wait for every future's Result (with context.Background(): waiting with a
// ctx that can end costs a channel per future, which is the waiter's cost).
func ours(name string, size, n int, ctx context.Context, submit func(context.Context, *executor.GoPool, int) (*future.Future[int], error)) (func(lo, hi int, mark func()), func() error) {
	return oursWith(name, size, n, func(_ context.Context, p *executor.GoPool, i int) (*future.Future[int], error) {
		return submit(ctx, p, i)
	}, nil)
}

// oursWith is ours where submit makes each task's ctx itself, and done, if
// not nil, is called with each task's index once its Result is in.
func oursWith(name string, size, n int, submit func(context.Context, *executor.GoPool, int) (*future.Future[int], error), done func(i int)) (func(lo, hi int, mark func()), func() error) {
	return oursOn(name, newGoPool(size), n, submit, done)
}

// oursOn is oursWith on the pool p.
func oursOn(name string, p *executor.GoPool, n int, submit func(context.Context, *executor.GoPool, int) (*future.Future[int], error), done func(i int)) (func(lo, hi int, mark func()), func() error) {
	ctx := context.Background()
	futs := make([]*future.Future[int], n)
	var sum int
	var firstErr error
	return func(lo, hi int, mark func()) {
			for i := lo; i < hi; i++ {
				f, err := submit(ctx, p, i)
				if err != nil {
					panic(err)
				}
				futs[i] = f
			}
			mark()
			bg := context.Background()
			for k, f := range futs[lo:hi] {
				futs[lo+k] = nil // handled: drop it, as a caller would
				v, err := f.Result(bg)
				if done != nil {
					done(lo + k)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				sum += v
			}
		}, func() error {
			clear(futs)
			if err := shutdown(p); err != nil {
				return err
			}
			if firstErr != nil {
				return firstErr
			}
			return checkSum(name, sum, n)
		}
}
