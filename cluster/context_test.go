package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/cluster/internal/wire"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/internal/runlog"
	"github.com/gofutures/gofutures/process"
	"github.com/nats-io/nats.go"
)

// The tests of the ctx rule: the ctx given to Call reaches the task on its
// worker. Tasks report what they see as lines on a FIFO that the test reads
// (events, not sleeps): the same FIFO works for a worker in this process, a
// worker process and a worker's local helper.

// ev names the FIFO a task reports to and the task, in its lines.
type ev struct {
	FIFO string
	Tag  string
}

// say writes one line to the FIFO (a write under PIPE_BUF is atomic).
func (e ev) say(format string, args ...any) error {
	f, err := os.OpenFile(e.FIFO, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s "+format+"\n", append([]any{e.Tag}, args...)...)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

var (
	// awaitCtx says "started", waits for its ctx to end, and says how.
	awaitCtx = process.MustRegister(testReg, "awaitCtx", func(ctx context.Context, e ev) (string, error) {
		if err := e.say("started"); err != nil {
			return "", err
		}
		<-ctx.Done()
		_ = e.say("done err=%v cause=%v", ctx.Err(), context.Cause(ctx))
		return "", ctx.Err()
	})
	// stubborn says "started", waits for its ctx to end, says "ignoring",
	// works on for a while regardless and returns a value.
	stubborn = process.MustRegister(testReg, "stubborn", func(ctx context.Context, e ev) (string, error) {
		if err := e.say("started"); err != nil {
			return "", err
		}
		<-ctx.Done()
		_ = e.say("ignoring")
		time.Sleep(200 * time.Millisecond) // the work it does after it was told to stop
		_ = e.say("returning %d", time.Now().UnixNano())
		return "late", nil
	})
	// now returns the time at which it runs, in Unix nanoseconds.
	now = process.MustRegister(testReg, "now", func(context.Context, int) (int64, error) { return time.Now().UnixNano(), nil })
	// deadlineOf returns its ctx's deadline in Unix nanoseconds, 0 if none.
	deadlineOf = process.MustRegister(testReg, "deadlineOf", func(ctx context.Context, _ int) (int64, error) {
		if dl, ok := ctx.Deadline(); ok {
			return dl.UnixNano(), nil
		}
		return 0, nil
	})
	// countRun appends a line to the file at path: a side effect to count
	// executions by.
	countRun = process.MustRegister(testReg, "countRun", func(_ context.Context, path string) (int, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return 0, err
		}
		_, err = fmt.Fprintf(f, "ran in pid %d\n", os.Getpid())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return 1, err
	})
)

// events is the reading end of a FIFO that tasks report to.
type events struct {
	path  string
	lines chan string
}

// newEvents makes a FIFO in the test's directory and reads its lines until
// the test ends. It is opened read-write, so that writers never block on
// open and the reader never sees end of file between them.
func newEvents(t *testing.T) *events {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := &events{path: path, lines: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			e.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = f.Close() // ends the scan
		for {
			select {
			case <-done:
				return
			case <-e.lines:
			}
		}
	})
	return e
}

func (e *events) task(tag string) ev { return ev{FIFO: e.path, Tag: tag} }

// next returns the next line of tag (lines of other tags are dropped), or
// "" if stop is closed or ctx ends first.
func (e *events) next(ctx context.Context, tag string, stop <-chan struct{}) string {
	for {
		select {
		case l := <-e.lines:
			if rest, ok := strings.CutPrefix(l, tag+" "); ok {
				return rest
			}
		case <-stop:
			return ""
		case <-ctx.Done():
			return ""
		}
	}
}

// wait waits for the next line of tag and checks that it starts with want.
func (e *events) wait(t *testing.T, ctx context.Context, tag, want string) string {
	t.Helper()
	l := e.next(ctx, tag, nil)
	if l == "" {
		t.Fatalf("task %s: no line %q: %v", tag, want, ctx.Err())
	}
	if !strings.HasPrefix(l, want) {
		t.Fatalf("task %s said %q, want %q...", tag, l, want)
	}
	return l
}

// finishes counts the Finished hooks by outcome.
type finishes struct {
	mu  sync.Mutex
	out map[executor.Outcome]int
	ran int
}

func (f *finishes) hooks() *executor.Hooks {
	f.out = map[executor.Outcome]int{}
	return &executor.Hooks{Finished: func(fi executor.Finish) {
		f.mu.Lock()
		f.out[fi.Outcome]++
		if fi.Ran {
			f.ran++
		}
		f.mu.Unlock()
	}}
}

func (f *finishes) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.out)
}

// TestCtxCancelRunning: the submit ctx of a task that runs on a worker
// process ends; the task sees ctx.Done() there, with cause Canceled (a
// cause of the caller's own does not cross the wire) or DeadlineExceeded,
// and the future fails at once with context.Cause of the caller's ctx. The
// message is removed, not redelivered, and the worker goes on.
func TestCtxCancelRunning(t *testing.T) {
	errMine := errors.New("caller's own cause")
	for _, tc := range []struct {
		name      string
		ctx       func(context.Context, time.Duration) (context.Context, func())
		want      error  // of the future
		wantCause string // the cause the worker sees
	}{
		{"cancel", func(ctx context.Context, _ time.Duration) (context.Context, func()) {
			return context.WithCancel(ctx)
		}, context.Canceled, "context canceled"},
		{"cause", func(ctx context.Context, _ time.Duration) (context.Context, func()) {
			c, cancel := context.WithCancelCause(ctx)
			return c, func() { cancel(errMine) }
		}, errMine, "context canceled"},
		{"deadline", func(ctx context.Context, d time.Duration) (context.Context, func()) {
			c, cancel := context.WithTimeout(ctx, d)
			return c, func() {
				<-c.Done() // the deadline ends it, not cancel
				cancel()
			}
		}, context.DeadlineExceeded, "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fin finishes
			ex := newTestExecutor(t, WithHooks(fin.hooks()))
			ctx := waitCtx(t)
			evs := newEvents(t)
			startProc(t, ex.URL(), testToken)
			warm, err := executor.Call(ctx, ex, square, 2) // the worker is up
			if err != nil {
				t.Fatal(err)
			}
			if _, err := warm.Result(ctx); err != nil {
				t.Fatal(err)
			}
			// The deadline case needs the task to start before its
			// deadline: if the machine is too slow for that, try again
			// with a longer one.
			for try, d := 0, 500*time.Millisecond; ; try, d = try+1, d*4 {
				tag := fmt.Sprintf("%s-%d", tc.name, try)
				cctx, end := tc.ctx(ctx, d)
				f, err := executor.Call(cctx, ex, awaitCtx, evs.task(tag))
				if err != nil {
					t.Fatal(err)
				}
				if evs.next(ctx, tag, f.Done()) == "" {
					end()
					if tc.name == "deadline" && try < 3 && errors.Is(f.Err(ctx), context.DeadlineExceeded) {
						t.Logf("the task did not start within %v; again", d)
						continue
					}
					t.Fatalf("task never started: %v", f.Err(ctx))
				}
				if !f.Running() {
					t.Fatalf("future %v while the task runs", f.State())
				}
				end()
				if err := f.Err(ctx); !errors.Is(err, tc.want) || f.Cancelled() {
					t.Fatalf("future: %v (cancelled %v), want %v", err, f.Cancelled(), tc.want)
				}
				l := evs.wait(t, ctx, tag, "done")
				if !strings.Contains(l, "cause="+tc.wantCause) {
					t.Fatalf("the task saw %q, want cause %s", l, tc.wantCause)
				}
				break
			}
			g, err := executor.Call(ctx, ex, square, 3)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := g.Result(ctx); err != nil || v != 9 {
				t.Fatalf("next task: %d, %v", v, err)
			}
			waitStreamEmpty(t, ex)
			ex.mu.Lock()
			left := len(ex.tasks)
			ex.mu.Unlock()
			if left != 0 {
				t.Fatalf("%d tasks still held", left)
			}
			t.Logf("finished: %v", &fin)
		})
	}
}

// TestCtxDeadlineTravels: ctx.Deadline() inside the worker's function is
// the caller's deadline, to the nanosecond; a ctx without one gives none.
func TestCtxDeadlineTravels(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	startProc(t, ex.URL(), testToken)
	dl := time.Now().Add(time.Hour).Add(123456789) // nanoseconds that a rounding would lose
	dctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	cctx, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want int64
	}{
		{"deadline", dctx, dl.UnixNano()},
		{"without cancel keeps no deadline", context.WithoutCancel(dctx), 0},
		{"cancellable", cctx, 0},
		{"background", context.Background(), 0},
	} {
		f, err := executor.Call(tc.ctx, ex, deadlineOf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.Result(ctx); err != nil || got != tc.want {
			t.Errorf("%s: worker saw deadline %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

// TestCtxEndedBeforeStart: tasks whose ctx ends (cancelled, deadline
// passed, or already over at Call) before any worker could take them never
// run: counted by their side effects, with a worker started afterwards that
// gets their messages and is told to skip them. Their futures fail with the
// ctx's cause at once, they are no longer held (so neither the retry loop
// nor the audit can publish them again), and a task next to them runs once.
func TestCtxEndedBeforeStart(t *testing.T) {
	var started atomic.Int32
	var fin finishes
	hooks := fin.hooks()
	hooks.Started = func(time.Duration) { started.Add(1) }
	ex := newTestExecutor(t, WithHooks(hooks))
	ctx := waitCtx(t)
	dir := t.TempDir()
	runs, control := filepath.Join(dir, "runs"), filepath.Join(dir, "control")

	cctx, cancel := context.WithCancel(ctx)
	fc, err := executor.Call(cctx, ex, countRun, runs)
	if err != nil {
		t.Fatal(err)
	}
	// Ends with no worker around; long enough to be still running at Call
	// on a busy machine (an ended ctx makes Call fail).
	dctx, dcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer dcancel()
	fd, err := executor.Call(dctx, ex, countRun, runs)
	if err != nil {
		t.Fatal(err)
	}
	fk, err := executor.Call(ctx, ex, countRun, control)
	if err != nil {
		t.Fatal(err)
	}
	for streamMsgs(t, ex) != 3 { // all three reached the stream
		select {
		case <-ctx.Done():
			t.Fatalf("stream holds %d messages, want 3", streamMsgs(t, ex))
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := fc.Err(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := fd.Err(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if _, err := executor.Call(cctx, ex, countRun, runs); !errors.Is(err, context.Canceled) { // ctx already over: no message
		t.Fatalf("Call with an ended ctx: %v", err)
	}
	ex.mu.Lock()
	held, unstored, retry := len(ex.tasks), len(ex.unstored), len(ex.retry)
	ex.mu.Unlock()
	if held != 1 || unstored != 0 || retry != 0 {
		t.Fatalf("held %d, unstored %d, to retry %d; want only the control task held", held, unstored, retry)
	}
	if n := streamMsgs(t, ex); n != 3 {
		t.Fatalf("stream holds %d messages after a Call with an ended ctx, want 3", n)
	}

	startProc(t, ex.URL(), testToken)
	if v, err := fk.Result(ctx); err != nil || v != 1 {
		t.Fatalf("control: %d, %v", v, err)
	}
	waitStreamEmpty(t, ex) // the worker got the other two and removed them
	if n := runlog.Runs(t, runs); n != 0 {
		t.Fatalf("tasks whose ctx ended before they started ran %d times", n)
	}
	if n := runlog.Runs(t, control); n != 1 {
		t.Fatalf("control task ran %d times", n)
	}
	fin.mu.Lock()
	defer fin.mu.Unlock()
	if started.Load() != 1 || fin.ran != 1 || fin.out[executor.OutcomeOK] != 1 ||
		fin.out[executor.OutcomeCancelled] != 1 || fin.out[executor.OutcomeTimeout] != 1 {
		t.Fatalf("hooks: started %d, ran %d, finished %v; want 1, 1, 1 ok 1 cancelled 1 timeout (the Call with an ended ctx was refused)", started.Load(), fin.ran, fin.out)
	}
}

// TestCtxIgnored: a task that ignores its cancelled ctx keeps its worker's
// slot until it returns (a worker of concurrency 1 runs the next task only
// then); the future failed at once with Canceled, and neither what the
// task returns late nor a result that arrives for it afterwards resolves it
// again.
func TestCtxIgnored(t *testing.T) {
	var fin finishes
	ex := newTestExecutor(t, WithHooks(fin.hooks()))
	ctx := waitCtx(t)
	evs := newEvents(t)
	startProc(t, ex.URL(), testToken, EnvConcurrency+"=1")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := executor.Call(cctx, ex, stubborn, evs.task("s"))
	if err != nil {
		t.Fatal(err)
	}
	ex.mu.Lock()
	seq := ex.seq
	ex.mu.Unlock()
	evs.wait(t, ctx, "s", "started")
	cancel()
	if err := f.Err(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("future: %v", err)
	}
	evs.wait(t, ctx, "s", "ignoring")
	g, err := executor.Call(ctx, ex, now, 0) // waits for the slot
	if err != nil {
		t.Fatal(err)
	}
	var returned int64
	if _, err := fmt.Sscanf(evs.wait(t, ctx, "s", "returning"), "returning %d", &returned); err != nil {
		t.Fatal(err)
	}
	if ran, err := g.Result(ctx); err != nil || ran < returned {
		t.Fatalf("next task ran at %d (%v), %v before the ignoring one returned", ran, err, time.Duration(returned-ran))
	}
	waitStreamEmpty(t, ex)
	// A result for it that comes anyway (a worker that did not get the
	// cancel message) is ignored, as a duplicate.
	call, err := testReg.EncodeCall(&fakeRemote{arg: 5})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := testReg.ServeCall(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	res := wire.AppendResult(nil, &wire.Result{Seq: seq, Attempts: 1, Data: rep})
	if _, err := ex.nc.Request(resultSubject(ex.cfg.stream, ex.sid), res, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); v != "" || !errors.Is(err, context.Canceled) {
		t.Fatalf("after the late results: %q, %v", v, err)
	}
	fin.mu.Lock()
	defer fin.mu.Unlock()
	if fin.out[executor.OutcomeOK] != 1 || len(fin.out) != 2 || fin.ran != 2 {
		t.Fatalf("finished %v (ran %d); want one ok and one cancelled, both ran", fin.out, fin.ran)
	}
}

// trackedCtx is a cancellable ctx that counts the AfterFuncs registered on
// it and those stopped (context.AfterFunc uses a parent's AfterFunc method).
type trackedCtx struct {
	done             chan struct{}
	mu               sync.Mutex
	err              error
	fns              map[int]func()
	next             int
	registered, stop atomic.Int32
}

func newTrackedCtx() *trackedCtx {
	return &trackedCtx{done: make(chan struct{}), fns: map[int]func(){}}
}

func (c *trackedCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *trackedCtx) Done() <-chan struct{}       { return c.done }
func (c *trackedCtx) Value(any) any               { return nil }

func (c *trackedCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *trackedCtx) AfterFunc(f func()) func() bool {
	c.registered.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	id := c.next
	c.next++
	c.fns[id] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.fns[id]; !ok {
			return false
		}
		delete(c.fns, id)
		c.stop.Add(1)
		return true
	}
}

func (c *trackedCtx) cancel() {
	c.mu.Lock()
	c.err = context.Canceled
	close(c.done)
	fns := c.fns
	c.fns = map[int]func(){}
	c.mu.Unlock()
	for _, f := range fns {
		go f()
	}
}

func (c *trackedCtx) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fns)
}

// TestCtxCost: a task with a cancellable ctx watches it only while it is
// held: every watch is stopped when the task finishes (nothing left on a
// long-lived ctx) and no cancel message is sent for it; a
// context.Background() or WithoutCancel task watches nothing, carries no
// deadline and sends nothing.
func TestCtxCost(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	var cancels atomic.Int32
	sub, err := ex.nc.Subscribe(cancelWildcard(ex.cfg.stream), func(*nats.Msg) { cancels.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	dctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for _, c := range []context.Context{context.Background(), context.WithoutCancel(dctx)} {
		if _, err := executor.Call(c, ex, square, 1); err != nil {
			t.Fatal(err)
		}
		ex.mu.Lock()
		en := ex.tasks[ex.seq]
		watched, deadline := en.stop != nil, en.deadline
		ex.mu.Unlock()
		if watched || deadline != 0 {
			t.Fatalf("a task that cannot be cancelled: watched %v, deadline %d", watched, deadline)
		}
	}

	tc := newTrackedCtx()
	var fs []*future.Future[int]
	for i := range 20 {
		f, err := executor.Call(tc, ex, square, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if n := tc.live(); n != 20 {
		t.Fatalf("%d watches while 20 tasks are held", n)
	}
	startWorker(t, ex.URL())
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != i*i {
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	if reg, stopped, live := tc.registered.Load(), tc.stop.Load(), tc.live(); reg != 20 || stopped != 20 || live != 0 {
		t.Fatalf("watches: %d registered, %d stopped, %d live; want 20, 20, 0", reg, stopped, live)
	}
	tc.cancel() // nothing is watching any more
	if err := ex.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ex.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatal(err)
	}
	if n := cancels.Load(); n != 0 {
		t.Fatalf("%d cancel messages for tasks that finished", n)
	}
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != i*i {
			t.Fatalf("task %d after its ctx ended: %d, %v", i, v, err)
		}
	}
}

// TestCtxLocalHelpers: on a worker with WithLocalHelpers, the task's ctx
// goes on to its helper process: the deadline is the caller's there, and a
// cancelled ctx reaches the task. The helper side is package process's: if
// a process.Executor does not carry ctx into its helpers (yet), the test skips.
func TestCtxLocalHelpers(t *testing.T) {
	ctx := waitCtx(t)
	dl := time.Now().Add(time.Hour).Add(987654321)
	dctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	probe, err := process.New(testReg, process.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := executor.Call(dctx, probe, deadlineOf, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pf.Result(ctx)
	if err := probe.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != dl.UnixNano() {
		t.Skipf("process.Executor does not carry the ctx deadline into its helpers (got %d): nothing for the cluster to pass on yet", got)
	}

	ex := newTestExecutor(t)
	startWorker(t, ex.URL(), WithLocalHelpers(1))
	f, err := executor.Call(dctx, ex, deadlineOf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != dl.UnixNano() {
		t.Fatalf("helper saw deadline %d, %v; want %d", v, err, dl.UnixNano())
	}
	evs := newEvents(t)
	cctx, cancelTask := context.WithCancel(ctx)
	g, err := executor.Call(cctx, ex, awaitCtx, evs.task("h"))
	if err != nil {
		t.Fatal(err)
	}
	evs.wait(t, ctx, "h", "started")
	cancelTask()
	if err := g.Err(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("future: %v", err)
	}
	evs.wait(t, ctx, "h", "done err=context canceled")
	waitStreamEmpty(t, ex)
}
