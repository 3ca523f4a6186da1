package process_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

// waitCtx is a task that reports "ID pid" on the FIFO Started, then waits
// for its ctx to end (or, with Ignore, never returns) and returns its cause.
// With Same, it returns another error if the cause is not ctx.Err().
type waitCtx struct {
	Log, Started string
	ID           int
	Ignore       bool
	Same         bool
}

var (
	waitCtxFn = process.MustRegister(reg, "waitCtx", func(ctx context.Context, w waitCtx) (int, error) {
		if _, err := effectFn.Call(ctx, effect{Log: w.Log, ID: w.ID, Started: w.Started}); err != nil {
			return 0, err
		}
		if w.Ignore {
			select {}
		}
		<-ctx.Done()
		if w.Same && context.Cause(ctx) != ctx.Err() {
			return 0, fmt.Errorf("in the helper, ctx.Err() = %v but its cause = %v", ctx.Err(), context.Cause(ctx))
		}
		return 0, context.Cause(ctx)
	})
	// deadlineFn returns its ctx's deadline in Unix nanoseconds, 0 if none.
	deadlineFn = process.MustRegister(reg, "deadline", func(ctx context.Context, _ int) (int64, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return 0, nil
		}
		return d.UnixNano(), nil
	})
)

// A running task whose submit ctx is cancelled sees ctx.Done() in its
// helper; it returns, its future fails with context.Canceled, and the
// helper lives on.
func TestCtxCancelReachesHelper(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	bg := ctxT(t)
	ctx, cancel := context.WithCancel(bg)
	started := mkfifo(t)
	f, err := executor.Call(ctx, p, waitCtxFn, waitCtx{Log: newLog(t), Started: started})
	if err != nil {
		t.Fatal(err)
	}
	pid := readStarted(bg, t, started)
	cancel()
	if _, err := f.Result(bg); !errors.Is(err, context.Canceled) || errors.Is(err, executor.ErrWorkerDied) {
		t.Fatalf("err = %v, want context.Canceled from the task", err)
	}
	if after, err := call(t, p, pidFn, 0); err != nil || after != pid {
		t.Fatalf("helper %d, then %d (%v): a task that honours its ctx keeps its helper", pid, after, err)
	}
}

// A running task that ignores its ctx is killed a grace after the ctx
// ended: its future fails with the ctx's cause, the helper is replaced, and
// the next task runs.
func TestCtxIgnoredKilledAfterGrace(t *testing.T) {
	p := newPool(t, process.WithWorkers(1), process.WithCancelGrace(50*time.Millisecond))
	bg := ctxT(t)
	ctx, cancel := context.WithCancelCause(bg)
	started := mkfifo(t)
	f, err := executor.Call(ctx, p, waitCtxFn, waitCtx{Log: newLog(t), Started: started, Ignore: true})
	if err != nil {
		t.Fatal(err)
	}
	pid := readStarted(bg, t, started)
	errMine := errors.New("request abandoned")
	cancel(errMine)
	if _, err := f.Result(bg); !errors.Is(err, errMine) || errors.Is(err, executor.ErrWorkerDied) {
		t.Fatalf("err = %v, want the ctx's cause", err)
	}
	if after, err := call(t, p, pidFn, 0); err != nil || after == pid {
		t.Fatalf("helper %d, then %d (%v): want a new helper", pid, after, err)
	}
	if !waitExit(t, pid, 20*time.Second) {
		t.Fatalf("helper %d still alive", pid)
	}
}

// pastDeadline is a caller's ctx whose deadline passes when the test calls
// pass, an hour before the task's own timer in its helper would fire (its
// Deadline says an hour): the host's cancel frame certainly beats that
// timer. Its cause is the one given to pass.
type pastDeadline struct {
	context.Context // a context.WithCancelCause: its values, and the cause
	cancel          context.CancelCauseFunc
	deadline        time.Time
	done            chan struct{}
	once            sync.Once
}

func newPastDeadline(parent context.Context) *pastDeadline {
	ctx, cancel := context.WithCancelCause(parent)
	return &pastDeadline{Context: ctx, cancel: cancel, deadline: time.Now().Add(time.Hour), done: make(chan struct{})}
}

func (c *pastDeadline) pass(cause error) {
	c.once.Do(func() {
		c.cancel(cause)
		close(c.done)
	})
}

func (c *pastDeadline) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *pastDeadline) Done() <-chan struct{}       { return c.done }
func (c *pastDeadline) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// A running task whose caller's deadline passed fails with
// context.DeadlineExceeded, as ctx.Err() and as its cause in the helper and
// as the error in the caller, also when the host's cancel frame reaches
// the helper before the task's own timer fires there, and when the
// deadline has a cause of its own (context.WithDeadlineCause). The task
// returns, from the helper, and the helper lives on.
func TestCtxDeadlineBeforeHelperTimer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cause error
	}{
		{"deadline", context.DeadlineExceeded},
		{"deadline with a cause", errors.New("too slow")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, process.WithWorkers(1))
			bg := ctxT(t)
			ctx := newPastDeadline(bg)
			started := mkfifo(t)
			f, err := executor.Call(ctx, p, waitCtxFn, waitCtx{Log: newLog(t), Started: started, Same: true})
			if err != nil {
				t.Fatal(err)
			}
			pid := readStarted(bg, t, started)
			ctx.pass(tc.cause)
			_, err = f.Result(bg)
			var re *process.RemoteError
			if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded from the task in its helper", err)
			}
			if after, err := call(t, p, pidFn, 0); err != nil || after != pid {
				t.Fatalf("helper %d, then %d (%v): the task returned, its helper lives on", pid, after, err)
			}
		})
	}
}

// The caller's deadline is the task's deadline inside the helper; without
// one, the task timeout counted from the start is.
func TestCtxDeadlineTravels(t *testing.T) {
	p := newPool(t, process.WithWorkers(1), process.WithTaskTimeout(time.Hour))
	bg := ctxT(t)
	want := time.Now().Add(17 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	f, err := executor.Call(ctx, p, deadlineFn, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Result(bg); err != nil || got != want.UnixNano() {
		t.Fatalf("deadline in the helper = %d, %v; want %d", got, err, want.UnixNano())
	}
	before := time.Now()
	f, err = executor.Call(context.Background(), p, deadlineFn, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Result(bg)
	after := time.Now()
	if err != nil || got < before.Add(time.Hour).UnixNano() || got > after.Add(time.Hour).UnixNano() {
		t.Fatalf("deadline from the task timeout = %v, %v; want within [%v, %v]", time.Unix(0, got), err, before.Add(time.Hour), after.Add(time.Hour))
	}
}

// A task whose ctx ends while it waits never runs, whether it waits in the
// pool's queue (its future fails at once) or was already sent to a helper
// busy with another task (the helper does not run it).
func TestCtxQueuedNeverRuns(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		p := newPool(t, process.WithWorkers(1), process.WithMaxInFlight(1))
		if !cancelWhileBlocked(t, p, nil, nil) {
			t.Fatal("the task was sent to the helper with one call in flight at most")
		}
	})
	t.Run("sent to the helper", func(t *testing.T) {
		p := newPool(t, process.WithWorkers(1))
		calls := make(chan int, 64)
		// The calls behind the blocker go to its helper at once, and the
		// test waits until they were written before it cancels one.
		process.SendAhead(p, 4, func(n int) { calls <- n })
		sent := make(chan int, 64)
		process.OnCancelsSent(p, func(n int) {
			select {
			case sent <- n:
			default:
			}
		})
		if cancelWhileBlocked(t, p, sent, calls) {
			t.Fatal("the task was still queued after it was written to the helper")
		}
	})
}

// cancelWhileBlocked runs a task that blocks p's one helper until its own
// ctx ends, then a task whose ctx it cancels, then another. Once the
// cancelled one has failed (it was still queued: it reports true), or once
// its cancel frame went to the helper (on sent; false), it cancels the
// blocker too: the helper reads cancel frames in order, so when the blocker
// returns the helper knows of the first. The cancelled task must not run,
// the others must, once.
//
// With calls (the pool's SendAhead hook), it cancels the task only after
// the task and the one behind it were written to the helper.
func cancelWhileBlocked(t *testing.T, p *process.Executor, sent, calls chan int) (queued bool) {
	t.Helper()
	bg := ctxT(t)
	log, started := newLog(t), mkfifo(t)
	bctx, unblock := context.WithCancel(bg)
	blocker, err := executor.Call(bctx, p, waitCtxFn, waitCtx{Log: log, ID: 1, Started: started})
	if err != nil {
		t.Fatal(err)
	}
	readStarted(bg, t, started)
	ctx, cancel := context.WithCancel(bg)
	f, err := executor.Call(ctx, p, effectFn, effect{Log: log, ID: 2})
	if err != nil {
		t.Fatal(err)
	}
	g := callEffect(t, p, effect{Log: log, ID: 3}) // behind it, on a ctx that does not end
	for n := 0; calls != nil && n < 3; {           // the blocker, the task, the one behind it
		select {
		case k := <-calls:
			n += k
		case <-bg.Done():
			t.Fatal("the calls were never written to the helper")
		}
	}
	for len(sent) > 0 {
		<-sent
	}
	cancel()
	select {
	case <-f.Done():
		queued = true
		if _, err := f.Result(bg); !errors.Is(err, context.Canceled) {
			t.Fatalf("queued task: %v", err)
		}
		if blocker.Ready() {
			t.Fatal("the blocker finished before it was released")
		}
	case <-sent:
	case <-bg.Done():
		t.Fatal("the cancelled task neither failed nor had its cancel sent")
	}
	unblock()
	if _, err := blocker.Result(bg); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocker: %v", err)
	}
	if _, err := g.Result(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(bg); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled task: %v", err)
	}
	ran := executions(t, log)
	if ran[2] != 0 || ran[1] != 1 || ran[3] != 1 {
		t.Fatalf("executions %v: the cancelled task must not run, the others once", ran)
	}
	return queued
}

// A ctx that has ended before Call is an error of the call: nothing is
// scheduled.
func TestCtxDoneBeforeCall(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	log := newLog(t)
	if _, err := executor.Call(ctx, p, effectFn, effect{Log: log, ID: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Call: %v", err)
	}
	if _, err := call(t, p, incFn, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(log); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the task ran")
	}
}

// A chunk whose ctx ends while it runs in a helper stops between items: the
// items not started fail with the ctx's cause and never run.
func TestCtxStopsChunk(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	bg := ctxT(t)
	ctx, cancel := context.WithCancel(bg)
	log, started := newLog(t), mkfifo(t)
	items := make([]waitCtx, 100)
	for i := range items {
		items[i] = waitCtx{Log: log, ID: i}
	}
	items[0].Started = started
	f, err := executor.CallChunk(ctx, p, waitCtxFn, items)
	if err != nil {
		t.Fatal(err)
	}
	readStarted(bg, t, started)
	cancel()
	c, err := f.Result(bg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if !errors.Is(c.Err(i), context.Canceled) {
			t.Fatalf("item %d: %v, want context.Canceled", i, c.Err(i))
		}
	}
	if ran := len(executions(t, log)); ran > 16 {
		t.Fatalf("%d items ran after the ctx ended, want at most the 16 of one check", ran)
	}
}
