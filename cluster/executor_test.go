package cluster

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

func TestCallAndChunk(t *testing.T) {
	ex := newTestExecutor(t)
	startWorker(t, ex.URL())
	ctx := waitCtx(t)

	futs := make([]int, 0, 50)
	fs := make([]interface {
		Result(context.Context) (int, error)
	}, 0, 50)
	for i := range 50 {
		f, err := executor.Call(ctx, ex, square, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
		futs = append(futs, i*i)
	}
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != futs[i] {
			t.Fatalf("square(%d) = %d, %v", i, v, err)
		}
	}

	args := make([]int, 1000)
	for i := range args {
		args[i] = i
	}
	cf, err := executor.CallChunk(ctx, ex, square, args)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cf.Result(ctx)
	if err != nil || c.Len() != 1000 || c.Errs != nil || c.Values[999] != 999*999 {
		t.Fatalf("chunk: len %d, errs %v, err %v", c.Len(), c.Errs, err)
	}

	cf2, err := executor.CallChunk(ctx, ex, fail, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := cf2.Result(ctx)
	if err != nil || !errors.Is(c2.Err(1), errBoom) {
		t.Fatalf("chunk of failures: %v, item error %v", err, c2.Err(1))
	}
}

func TestErrorsCrossTheWire(t *testing.T) {
	ex := newTestExecutor(t)
	startWorker(t, ex.URL())
	ctx := waitCtx(t)

	f, err := executor.Call(ctx, ex, fail, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	var re *process.RemoteError
	if !errors.Is(err, errBoom) || !errors.As(err, &re) || re.Type != "*cluster.boomErr" || re.Stack == "" {
		t.Fatalf("fail: err %v (%T), remote %+v", err, err, re)
	}

	f, err = executor.Call(ctx, ex, panicky, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	var pe *executor.PanicError
	if !errors.As(err, &pe) || len(pe.Stack) == 0 {
		t.Fatalf("panicky: err %v", err)
	}

	_, err = executor.Call(ctx, ex, executor.Fn(func(context.Context, int) (int, error) { return 1, nil }), 1)
	if !errors.Is(err, executor.ErrNotRemote) {
		t.Fatalf("closure: err %v, want ErrNotRemote", err)
	}
	_, err = executor.Submit(ctx, ex, func(context.Context) (int, error) { return 1, nil })
	if !errors.Is(err, executor.ErrNotRemote) {
		t.Fatalf("Submit: err %v, want ErrNotRemote", err)
	}

	if _, err := executor.Call(ctx, ex, size, make([]byte, maxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big argument: err %v, want ErrTooLarge", err)
	}
}

// TestCancelPending: a future cancelled before any worker took its task is
// never run, and its message is removed when a worker sees it.
func TestCancelPending(t *testing.T) {
	var started, finished atomic.Int32
	hooks := &executor.Hooks{
		Started:  func(time.Duration) { started.Add(1) },
		Finished: func(executor.Finish) { finished.Add(1) },
	}
	ex := newTestExecutor(t, WithHooks(hooks))
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, square, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Cancel() {
		t.Fatal("Cancel of a pending task returned false")
	}
	g, err := executor.Call(ctx, ex, square, 8)
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, ex.URL())
	if v, err := g.Result(ctx); err != nil || v != 64 {
		t.Fatalf("square(8) = %d, %v", v, err)
	}
	waitStreamEmpty(t, ex)
	// The cancelled task's hook runs when a worker asks to start it, after
	// the executor replied (the worker may have removed it before): wait.
	for finished.Load() < 2 && sleepCtx(ctx, 5*time.Millisecond) {
	}
	if started.Load() != 1 || finished.Load() != 2 {
		t.Fatalf("hooks: started %d, finished %d; want 1 and 2", started.Load(), finished.Load())
	}
}

func TestShutdown(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, square, 3)
	if err != nil {
		t.Fatal(err)
	}
	g, err := executor.Call(ctx, ex, square, 4)
	if err != nil {
		t.Fatal(err)
	}
	g.Cancel()
	startWorker(t, ex.URL())
	if err := ex.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != 9 {
		t.Fatalf("after Shutdown: %d, %v", v, err)
	}
	if _, err := executor.Call(ctx, ex, square, 1); !errors.Is(err, executor.ErrShutdown) {
		t.Fatalf("Call after Shutdown: %v", err)
	}
	if err := ex.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestShutdownCancelPendingAndStop(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, square, 3) // no worker: stays pending
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Shutdown(ctx, executor.CancelPending()); err != nil {
		t.Fatal(err)
	}
	if !f.Cancelled() {
		t.Fatalf("pending future not cancelled by Shutdown(CancelPending): %v", f.State())
	}

	ex2 := newTestExecutor(t)
	startWorker(t, ex2.URL())
	b, err := executor.Call(ctx, ex2, block, 1)
	if err != nil {
		t.Fatal(err)
	}
	for !b.Running() { // Running is set when the worker's start request arrives
		select {
		case <-ctx.Done():
			t.Fatal("block never started")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := ex2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Result(ctx); !errors.Is(err, executor.ErrStopped) {
		t.Fatalf("running task after Stop: %v", err)
	}
}

// waitStreamEmpty waits until the task stream holds no message.
func waitStreamEmpty(t *testing.T, ex *Executor) {
	t.Helper()
	ctx := waitCtx(t)
	for {
		n := streamMsgs(t, ex)
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream still holds %d messages", n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// streamMsgs returns the number of messages in the executor's stream.
func streamMsgs(t *testing.T, ex *Executor) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := ex.js.Stream(ctx, ex.cfg.stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestWorkerProcesses: the executor starts worker processes of this binary
// and stops them at Shutdown (gracefully) or Stop (killed).
func TestWorkerProcesses(t *testing.T) {
	for _, hard := range []bool{false, true} {
		ctx := waitCtx(t)
		ex, err := New(ctx, testReg, testOpts(t, WithWorkerProcesses(2), WithConcurrency(1))...)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ex.procs.started() {
			trackProc(c.Process)
		}
		if ex.Workers() != 2 {
			t.Errorf("Workers() = %d, want 2", ex.Workers())
		}
		f, err := executor.Call(ctx, ex, square, 9)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != 81 {
			t.Fatalf("square(9) = %d, %v", v, err)
		}
		if hard {
			b, err := executor.Call(ctx, ex, block, 1)
			if err != nil {
				t.Fatal(err)
			}
			err = ex.Stop(ctx)
			if _, berr := b.Result(ctx); !errors.Is(berr, executor.ErrStopped) {
				t.Fatalf("blocked task after Stop: %v", berr)
			}
		} else {
			err = ex.Shutdown(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ex.procs.started() {
			if c.ProcessState == nil {
				t.Fatalf("worker process %d still running after shutdown", c.Process.Pid)
			}
			if !hard && !c.ProcessState.Success() {
				t.Errorf("worker %d: %v, want a clean exit", c.Process.Pid, c.ProcessState)
			}
		}
	}
}

// TestLongTaskHeartbeats: a task that runs for several ack waits stays
// with its worker (progress heartbeats) and runs once.
func TestLongTaskHeartbeats(t *testing.T) {
	ex := newTestExecutor(t, WithAckWait(200*time.Millisecond))
	startWorker(t, ex.URL())
	startWorker(t, ex.URL()) // a second worker that would get a redelivery
	ctx := waitCtx(t)
	before := longRuns.Load()
	f, err := executor.Call(ctx, ex, long, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != 1000 {
		t.Fatalf("long: %d, %v", v, err)
	}
	if n := longRuns.Load() - before; n != 1 {
		t.Fatalf("long task ran %d times, want 1", n)
	}
}

// TestMap: executor.Map works over the cluster as over any executor.
func TestMap(t *testing.T) {
	ex := newTestExecutor(t)
	startWorker(t, ex.URL())
	ctx := waitCtx(t)
	i := 0
	for v, err := range executor.Map(ctx, ex, square, func(yield func(int) bool) {
		for n := range 100 {
			if !yield(n) {
				return
			}
		}
	}, executor.WithBufferSize(16)) {
		if err != nil || v != i*i {
			t.Fatalf("item %d: %d, %v", i, v, err)
		}
		i++
	}
	if i != 100 {
		t.Fatalf("%d items, want 100", i)
	}
}

// TestLocalHelpers runs a worker whose tasks run on a local process pool:
// results and errors come back as usual, from other processes, and a task
// that kills its helper fails at the delivery limit while the worker lives on.
func TestLocalHelpers(t *testing.T) {
	ex := newTestExecutor(t)
	startWorker(t, ex.URL(), WithLocalHelpers(2))
	ctx := waitCtx(t)

	pids := map[int]bool{}
	for i := range 20 {
		f, err := executor.Call(ctx, ex, pid, i)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pids[p] = true
	}
	if pids[os.Getpid()] || len(pids) == 0 {
		t.Fatalf("tasks ran in pids %v; the worker is %d: they must run in its helpers", pids, os.Getpid())
	}
	ff, err := executor.Call(ctx, ex, fail, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := ff.Err(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("error from a helper: %v", err)
	}
	cf, err := executor.Call(ctx, ex, crash, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.Err(ctx); !errors.Is(err, ErrDeliveryLimit) {
		t.Fatalf("a task that kills its helper every time: %v", err)
	}
	sf, err := executor.Call(ctx, ex, square, 9)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := sf.Result(ctx); v != 81 || err != nil {
		t.Fatalf("after helper crashes: %v, %v", v, err)
	}
}

// New refuses to run in a process started as a cluster worker, so that a
// program that forgot ServeIfWorker does not start clusters without end.
func TestNewInWorkerRefuses(t *testing.T) {
	t.Setenv(EnvWorker, "1")
	ex, err := New(context.Background(), testReg)
	if err == nil {
		_ = ex.Stop(context.Background())
		t.Fatal("New in a worker process succeeded")
	}
	if !strings.Contains(err.Error(), "ServeIfWorker") {
		t.Fatalf("err = %v", err)
	}
}
