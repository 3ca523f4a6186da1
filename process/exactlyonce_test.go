package process_test

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
)

// effect is a task whose executions a test counts: each one appends a line
// "ID pid" to Log (O_APPEND writes whole lines, from several helpers too),
// then does what the other fields say.
type effect struct {
	Log     string
	ID      int
	Started string        // a FIFO: write "ID pid" there once logged (the test reads it)
	Block   string        // a FIFO: then wait until the test opens it for writing and closes it
	Sleep   time.Duration // then run this long
	Crash   bool          // then kill its own helper with SIGKILL
	Hang    bool          // then never return
	Extra   any           // carried, unused (a value gob fails on, for some tests)
}

var effectFn = process.MustRegister(reg, "effect", func(_ context.Context, e effect) (int, error) {
	line := fmt.Sprintf("%d %d\n", e.ID, os.Getpid())
	f, err := os.OpenFile(e.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = f.WriteString(line)
	f.Close()
	if err != nil {
		return 0, err
	}
	if e.Started != "" {
		s, err := os.OpenFile(e.Started, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		_, _ = s.WriteString(line)
		s.Close()
	}
	if e.Block != "" {
		r, err := os.Open(e.Block)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, r)
		r.Close()
	}
	time.Sleep(e.Sleep)
	if e.Crash {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if e.Hang {
		select {}
	}
	return e.ID, nil
})

// helperOnly is registered with gob in helpers only (see TestMain), so that
// the host cannot decode a result holding it.
type helperOnly struct{ X int }

// hostOnly is registered with gob in the test process only, so that a
// helper cannot decode an argument holding it.
type hostOnly struct{ X int }

var helperOnlyFn = process.MustRegister(reg, "helperOnly", func(_ context.Context, x int) (box, error) {
	return box{V: helperOnly{x}}, nil
})

// dieAfterFn, as an initializer, makes the helper exit d after it started.
var dieAfterFn = process.MustRegister(reg, "dieAfter", func(_ context.Context, d time.Duration) (bool, error) {
	go func() {
		time.Sleep(d)
		os.Exit(5)
	}()
	return true, nil
})

func newLog(t *testing.T) string { return filepath.Join(t.TempDir(), "executions") }

// executions returns how many times each task id ran, from its log.
func executions(t *testing.T, log string) map[int]int {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	n := map[int]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		id, err := strconv.Atoi(strings.Fields(l)[0])
		if err != nil {
			t.Fatalf("log line %q", l)
		}
		n[id]++
	}
	return n
}

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readStarted waits for the next task to write its "ID pid" line to the
// FIFO path and returns the pid, or fails the test when ctx ends first.
func readStarted(ctx context.Context, t *testing.T, path string) int {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(path) // blocks until a task opens it
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		line, _ := bufio.NewReader(f).ReadString('\n') // what was written, if anything
		got <- line
	}()
	select {
	case line := <-got:
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("started: %q", line)
		}
		pid, _ := strconv.Atoi(f[1])
		return pid
	case <-ctx.Done():
		t.Fatalf("no task started: %v", context.Cause(ctx))
		return 0
	}
}

// release lets the task blocked on the FIFO path go on (blocking until it
// waits there).
func release(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func callEffect(t *testing.T, p executor.Executor, e effect) *future.Future[int] {
	t.Helper()
	f, err := executor.Call(ctxT(t), p, effectFn, e)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// warm runs small tasks on every helper of p until their run time is known,
// so that later calls are pipelined.
func warm(t *testing.T, p *process.Executor, n int) {
	t.Helper()
	ctx := ctxT(t)
	fs := make([]*future.Future[int], 0, n)
	for i := range n {
		f, err := executor.Call(ctx, p, incFn, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for _, f := range fs {
		if _, err := f.Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// checkOnce fails the test unless every id in ids ran exactly once.
func checkOnce(t *testing.T, log string, ids ...int) {
	t.Helper()
	ran := executions(t, log)
	for _, id := range ids {
		if ran[id] != 1 {
			t.Errorf("task %d ran %d times, want once", id, ran[id])
		}
	}
}

// upTo returns 0, 1, ..., n-1.
func upTo(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids
}

// coldAndWarm runs test on a new pool of one helper, then on one whose
// helper has run small tasks (so that calls are sent ahead to it).
func coldAndWarm(t *testing.T, workers int, test func(t *testing.T, p *process.Executor)) {
	for _, warmed := range []bool{false, true} {
		t.Run(fmt.Sprintf("warm=%v", warmed), func(t *testing.T) {
			p := newPool(t, process.WithWorkers(workers))
			if warmed {
				warm(t, p, 200*workers)
			}
			test(t, p)
		})
	}
}

// A helper that finished a call and then died on the next one: the
// finished call's result is delivered, only the crasher fails, and it runs
// once. (Before: the finished call failed with "helper died" and the
// crasher ran again.)
func TestFinishedCallSurvivesCrash(t *testing.T) {
	coldAndWarm(t, 1, func(t *testing.T, p *process.Executor) {
		log := newLog(t)
		ctx := ctxT(t)
		a := callEffect(t, p, effect{Log: log, ID: 1})
		c := callEffect(t, p, effect{Log: log, ID: 2, Crash: true})
		if v, err := a.Result(ctx); err != nil || v != 1 {
			t.Fatalf("finished call: %d, %v", v, err)
		}
		if _, err := c.Result(ctx); !errors.Is(err, executor.ErrWorkerDied) {
			t.Fatalf("crasher: %v", err)
		}
		checkOnce(t, log, 1, 2)
	})
}

// One crasher among many small tasks on two helpers: it alone fails; every
// other task succeeds and ran once.
func TestCrashAmongMany(t *testing.T) {
	const n, crasher = 500, 250
	p := newPool(t, process.WithWorkers(2))
	log := newLog(t)
	ctx := ctxT(t)
	fs := make([]*future.Future[int], n)
	for i := range n {
		fs[i] = callEffect(t, p, effect{Log: log, ID: i, Crash: i == crasher})
	}
	for i, f := range fs {
		v, err := f.Result(ctx)
		switch {
		case i == crasher:
			var we *process.WorkerError
			if !errors.As(err, &we) || we.Signal != syscall.SIGKILL {
				t.Errorf("crasher: %v", err)
			}
		case err != nil || v != i:
			t.Errorf("task %d: %d, %v", i, v, err)
		}
	}
	checkOnce(t, log, upTo(n)...)
}

// The same through pool.Imap: only the crasher's item fails.
func TestCrashThroughImap(t *testing.T) {
	const n, crasher = 200, 100
	ex := newPool(t, process.WithWorkers(2))
	warm(t, ex, 200) // so that items are pipelined around the crasher
	pl, err := pool.New(ex)
	if err != nil {
		t.Fatal(err)
	}
	log := newLog(t)
	in := func(yield func(effect) bool) {
		for i := range n {
			if !yield(effect{Log: log, ID: i, Crash: i == crasher}) {
				return
			}
		}
	}
	i := 0
	for v, err := range pool.Imap(ctxT(t), pl, effectFn, in, pool.WithChunksInFlight(64)) {
		switch {
		case i == crasher:
			if !errors.Is(err, executor.ErrWorkerDied) {
				t.Errorf("crasher's item: %v", err)
			}
		case err != nil || v != i:
			t.Errorf("item %d: %d, %v", i, v, err)
		}
		i++
	}
	if i != n {
		t.Fatalf("%d items, want %d", i, n)
	}
	for id, k := range executions(t, log) {
		if k != 1 {
			t.Errorf("item %d ran %d times", id, k)
		}
	}
}

// A task timeout counts from when the call started in the helper, not from
// when it was sent: two tasks that each take 2/3 of the limit, on one
// helper, both succeed.
func TestTimeoutCountsFromStart(t *testing.T) {
	p := newPool(t, process.WithWorkers(1), process.WithTaskTimeout(1500*time.Millisecond))
	log := newLog(t)
	ctx := ctxT(t)
	a := callEffect(t, p, effect{Log: log, ID: 1, Sleep: time.Second})
	b := callEffect(t, p, effect{Log: log, ID: 2, Sleep: time.Second})
	for i, f := range []*future.Future[int]{a, b} {
		if v, err := f.Result(ctx); err != nil || v != i+1 {
			t.Fatalf("task %d: %d, %v", i+1, v, err)
		}
	}
	checkOnce(t, log, 1, 2)
}

// One hang among many small tasks: only the hang times out, once; the tasks
// sent to its helper behind it run elsewhere, once.
func TestHangAmongMany(t *testing.T) {
	const n, hang = 300, 150
	p := newPool(t, process.WithWorkers(2), process.WithTaskTimeout(2*time.Second))
	log := newLog(t)
	ctx := ctxT(t)
	warm(t, p, 200) // so that calls are pipelined behind the hang
	fs := make([]*future.Future[int], n)
	for i := range n {
		fs[i] = callEffect(t, p, effect{Log: log, ID: i, Hang: i == hang})
	}
	for i, f := range fs {
		v, err := f.Result(ctx)
		switch {
		case i == hang:
			var te *process.TimeoutError
			if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("hang: %v", err)
			}
		case err != nil || v != i:
			t.Errorf("task %d: %d, %v", i, v, err)
		}
	}
	checkOnce(t, log, upTo(n)...)
}

// A quick call's result arrives while the slow call sent after it to the
// same helper still runs.
func TestReplyNotHeldBack(t *testing.T) {
	coldAndWarm(t, 1, func(t *testing.T, p *process.Executor) {
		log, block := newLog(t), mkfifo(t)
		ctx := ctxT(t)
		quick := callEffect(t, p, effect{Log: log, ID: 1})
		slow := callEffect(t, p, effect{Log: log, ID: 2, Block: block})
		if v, err := quick.Result(ctx); err != nil || v != 1 {
			t.Fatalf("quick: %d, %v", v, err)
		}
		if slow.Ready() {
			t.Fatal("slow is done before it was released")
		}
		release(t, block)
		if v, err := slow.Result(ctx); err != nil || v != 2 {
			t.Fatalf("slow: %d, %v", v, err)
		}
	})
}

// Tasks of unknown length spread over every helper, fresh or warm: two
// blocking tasks run at once on two helpers, and a quick task sent after a
// slow one does not wait for it (future.Wait(FirstCompleted) returns it).
func TestLongTasksSpread(t *testing.T) {
	coldAndWarm(t, 2, func(t *testing.T, p *process.Executor) {
		ctx := ctxT(t)
		log, started1, started2, block1, block2, block := newLog(t), mkfifo(t), mkfifo(t), mkfifo(t), mkfifo(t), mkfifo(t)
		a := callEffect(t, p, effect{Log: log, ID: 1, Started: started1, Block: block1})
		b := callEffect(t, p, effect{Log: log, ID: 2, Started: started2, Block: block2})
		pids := []int{readStarted(ctx, t, started1), readStarted(ctx, t, started2)}
		if pids[0] == pids[1] {
			t.Fatalf("both long tasks ran on helper %d", pids[0])
		}
		release(t, block1)
		release(t, block2)
		for _, f := range []*future.Future[int]{a, b} {
			if _, err := f.Result(ctx); err != nil {
				t.Fatal(err)
			}
		}

		slow := callEffect(t, p, effect{Log: log, ID: 3, Block: block})
		quick := callEffect(t, p, effect{Log: log, ID: 4})
		done, _, err := future.Wait(ctx, []*future.Future[int]{slow, quick}, future.FirstCompleted)
		if err != nil || len(done) != 1 || done[0] != quick {
			t.Fatalf("Wait(FirstCompleted) = %v, %v; want the quick task", done, err)
		}
		release(t, block)
		if _, err := slow.Result(ctx); err != nil {
			t.Fatal(err)
		}
		checkOnce(t, log, 1, 2, 3, 4)
	})
}

// Arguments that a helper cannot decode whole (a concrete type in an
// interface that only the host registered) fail that task with ErrEncode;
// the helper lives on, and the calls sent behind it run, once.
func TestArgumentDecodeFails(t *testing.T) {
	gob.Register(hostOnly{}) // in this process only: helpers do not run tests
	failsAlone(t, 1, func(ctx context.Context, p *process.Executor, _ int) (*future.Future[box], error) {
		return executor.Call(ctx, p, anyFn, box{V: hostOnly{7}})
	})
}

// A result the host cannot decode fails that task with ErrEncode, not
// ErrWorkerDied; the helper lives on, and the replies behind it arrive.
func TestResultDecodeFails(t *testing.T) {
	failsAlone(t, 2, func(ctx context.Context, p *process.Executor, round int) (*future.Future[box], error) {
		return executor.Call(ctx, p, helperOnlyFn, round)
	})
}

// failsAlone checks, rounds times on one warm helper, that the call bad
// makes fails with ErrEncode while the 20 calls sent right behind it
// succeed, and that the helper is the same at the end.
func failsAlone(t *testing.T, rounds int, bad func(context.Context, *process.Executor, int) (*future.Future[box], error)) {
	t.Helper()
	p := newPool(t, process.WithWorkers(1))
	warm(t, p, 200)
	before, err := call(t, p, pidFn, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for round := range rounds {
		f, err := bad(ctx, p, round)
		if err != nil {
			t.Fatal(err)
		}
		var good []*future.Future[box]
		for i := range 20 {
			g, err := executor.Call(ctx, p, anyFn, box{V: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			good = append(good, g)
		}
		if _, err := f.Result(ctx); !errors.Is(err, process.ErrEncode) || errors.Is(err, executor.ErrWorkerDied) {
			t.Fatalf("round %d: %v, want ErrEncode", round, err)
		}
		for i, g := range good {
			if v, err := g.Result(ctx); err != nil || v.V != fmt.Sprint(i) {
				t.Fatalf("round %d, call %d behind it: %v, %v", round, i, v, err)
			}
		}
	}
	if after, err := call(t, p, pidFn, 0); err != nil || after != before {
		t.Fatalf("helper pid %d, then %d (%v): it must live on", before, after, err)
	}
}

// startGate makes the test's helpers (PROCESS_TEST_MODE=gate) report their
// pid and wait before they serve: the test kills them there, or lets them go.
type startGate struct{ pids, gate string }

func newStartGate(t *testing.T) (startGate, []process.Option) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g := startGate{pids: mkfifo(t), gate: mkfifo(t)}
	return g, []process.Option{process.WithHelper(self), process.WithEnv("PROCESS_TEST_MODE=gate", "GATE_PIDS="+g.pids, "GATE_GO="+g.gate)}
}

// next returns the pid of the next helper at the gate.
func (g startGate) next(ctx context.Context, t *testing.T) int {
	t.Helper()
	pid, ok := g.nextOr(ctx, t, nil)
	if !ok {
		t.Fatal("no helper came to the gate")
	}
	return pid
}

// nextOr is next that gives up (false) when stop is closed first.
func (g startGate) nextOr(ctx context.Context, t *testing.T, stop <-chan struct{}) (int, bool) {
	t.Helper()
	got := make(chan int, 1)
	quit := make(chan struct{})
	go func() {
		for {
			// Until a helper opens it, or we do below. A helper killed
			// before it closed it may be the writer that opens it: then
			// it ends with nothing written, and we open it again.
			f, err := os.Open(g.pids)
			if err != nil {
				got <- -1
				return
			}
			line, _ := bufio.NewReader(f).ReadString('\n') // "" if the writer closed it first
			f.Close()
			if line == "" {
				select {
				case <-quit:
					got <- 0
					return
				default:
				}
			}
			if line != "" {
				pid, _ := strconv.Atoi(strings.TrimSpace(line))
				got <- pid
				return
			}
		}
	}()
	select {
	case pid := <-got:
		if pid <= 0 {
			t.Fatalf("bad pid from the gate: %d", pid)
		}
		return pid, true
	case <-stop:
	case <-ctx.Done():
		t.Error("no helper came to the gate")
	}
	// Unblock the reader: open the FIFO ourselves and write nothing, until
	// it has gone (without blocking: it may be gone already).
	close(quit)
	for {
		select {
		case <-got:
			return 0, false
		default:
		}
		if w, err := os.OpenFile(g.pids, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		runtime.Gosched()
	}
}

// gateMode runs in a helper of PROCESS_TEST_MODE=gate before it serves.
func gateMode() {
	f, err := os.OpenFile(os.Getenv("GATE_PIDS"), os.O_WRONLY, 0)
	if err != nil {
		os.Exit(7)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	f.Close()
	g, err := os.Open(os.Getenv("GATE_GO")) // until the test opens it
	if err != nil {
		os.Exit(7)
	}
	g.Close()
}

// Helpers killed by a signal before their handshake do not break the pool
// (more in a row than the start failures that do): the next one that starts
// runs the queued task.
func TestKilledAtStartNotBroken(t *testing.T) {
	g, opts := newStartGate(t)
	p := newPool(t, append(opts, process.WithWorkers(1))...)
	ctx := ctxT(t)
	f := callEffect(t, p, effect{Log: newLog(t), ID: 1})
	for range 5 {
		if err := syscall.Kill(g.next(ctx, t), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	g.next(ctx, t)
	release(t, g.gate)
	if v, err := f.Result(ctx); err != nil || v != 1 {
		t.Fatalf("after 5 helpers killed at start: %d, %v", v, err)
	}
}

// When kills at start go on, the pool breaks at last, and says what
// happened: killed by signal 9, not "is ServeIfHelper called".
func TestKilledAtStartSaysSo(t *testing.T) {
	g, opts := newStartGate(t)
	p := newPool(t, append(opts, process.WithWorkers(1))...)
	ctx := ctxT(t)
	f := callEffect(t, p, effect{Log: newLog(t), ID: 1})
	for kills := 0; ; kills++ {
		pid, ok := g.nextOr(ctx, t, f.Done())
		if !ok {
			t.Logf("broken after %d kills", kills)
			break
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.Result(ctx)
	if !errors.Is(err, executor.ErrBroken) || !strings.Contains(err.Error(), "signal 9") || strings.Contains(err.Error(), "ServeIfHelper") {
		t.Fatalf("err = %v, want ErrBroken saying the helper was killed by signal 9", err)
	}
}

// Helpers that die soon after they start are replaced after a growing
// backoff, not at once in a loop.
func TestYoungDeathsBackOff(t *testing.T) {
	var mu sync.Mutex
	var starts, stops []time.Time
	enough := make(chan struct{})
	hooks := &executor.Hooks{
		WorkerStarted: func() {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Now())
			if len(starts) == 6 {
				close(enough)
			}
		},
		WorkerStopped: func(executor.WorkerExit) {
			mu.Lock()
			defer mu.Unlock()
			stops = append(stops, time.Now())
		},
	}
	p := newPool(t, process.WithWorkers(1), process.WithInitializer(dieAfterFn, 200*time.Millisecond), process.WithHooks(hooks))
	ctx := ctxT(t)
	select {
	case <-enough:
	case <-ctx.Done():
		t.Fatal("fewer than 6 helper starts")
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Helper k starts at least 10ms·2^(k-1) after helper k-1 died (less a
	// quarter, for the time the hooks take to run on a busy machine).
	for k := 1; k <= 5; k++ {
		gap := starts[k].Sub(stops[k-1])
		if want := 10 * time.Millisecond << (k - 1); gap < want*3/4 {
			t.Errorf("helper %d started %v after the last one died, want at least %v", k, gap, want)
		}
	}
}

// New refuses to run in a process that an Executor started as its helper, so a
// program that forgets ServeIfHelper does not fork without end.
func TestNewInHelperRefuses(t *testing.T) {
	t.Setenv("GOFUTURES_PROCESS_HELPER", "2")
	if _, err := process.New(reg); err == nil || !strings.Contains(err.Error(), "ServeIfHelper") {
		t.Fatalf("New in a helper: %v", err)
	}
}

// A program that forgot ServeIfHelper: its helpers refuse to start pools of
// their own, and the pool breaks with an error that says why.
func TestForgotServeIfHelper(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctxT(t), self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROCESS_TEST_MODE=forgot")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if s := string(out); !strings.Contains(s, "broken") || !strings.Contains(s, "call process.ServeIfHelper(reg) first in main") {
		t.Fatalf("output: %s", s)
	}
}

// forgotMode is main of a program that forgot ServeIfHelper: its helpers run
// it too.
func forgotMode() {
	p, err := process.New(reg, process.WithWorkers(2), process.WithEnv("PROCESS_TEST_MODE=forgot"))
	if err != nil {
		os.Exit(1) // a helper: New refused (and said why on stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := executor.Call(ctx, p, incFn, 1)
	if err == nil {
		_, err = f.Result(ctx)
	}
	fmt.Println(err)
	_ = p.Stop(ctx)
}

// A host killed with SIGKILL takes its helpers' children with it.
func TestNoOrphanGrandchildren(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	fifo := mkfifo(t)
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROCESS_TEST_MODE=hostchild", "HOST_FIFO="+fifo)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	// The task's child (sleep 1000) holds the FIFO open: EOF means it died.
	r, err := os.Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("reading the grandchild's pid: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ended, err := eofWithin(br, 20*time.Second); !ended {
		t.Fatalf("the task's child %d outlived the host", pid)
	} else if !errors.Is(err, io.EOF) {
		t.Fatalf("read: %v", err)
	}
	if !waitExit(t, pid, 20*time.Second) {
		t.Fatalf("the task's child %d outlived the host", pid)
	}
}

// hostChildMode is a host whose task starts a child, then blocks.
func hostChildMode() {
	p, err := process.New(reg, process.WithWorkers(1))
	if err != nil {
		os.Exit(1)
	}
	ctx := context.Background()
	f, err := executor.Call(ctx, p, blockChildFn, os.Getenv("HOST_FIFO"))
	if err != nil {
		os.Exit(1)
	}
	_, _ = f.Result(ctx)
	os.Exit(1)
}

// A helper that does not start in time is a start failure that says so:
// "did not start within", not "exited before the handshake".
func TestStartTimeoutSaysSo(t *testing.T) {
	_, opts := newStartGate(t) // nobody reads the gate: helpers wait there
	p := newPool(t, append(opts, process.WithWorkers(1), process.WithStartTimeout(200*time.Millisecond))...)
	ctx := ctxT(t)
	f := callEffect(t, p, effect{Log: newLog(t), ID: 1})
	_, err := f.Result(ctx)
	if !errors.Is(err, executor.ErrBroken) || !strings.Contains(err.Error(), "did not start within 200ms") || strings.Contains(err.Error(), "exited before the handshake") {
		t.Fatalf("err = %v, want ErrBroken saying the helper did not start in time", err)
	}
}
