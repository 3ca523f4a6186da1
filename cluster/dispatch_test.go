package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The tests of fair dispatch and of the delivery limit counting only the
// deliveries that started a task.

var (
	// napPid sleeps n milliseconds (its work; it ends early if its ctx
	// does) and returns the pid that ran it.
	napPid = process.MustRegister(testReg, "napPid", func(ctx context.Context, n int) (int, error) {
		t := time.NewTimer(time.Duration(n) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return os.Getpid(), nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	// tagRun appends "<tag> <pid>" to the file at path: one line per
	// execution.
	tagRun = process.MustRegister(testReg, "tagRun", func(_ context.Context, a tagArg) (int, error) {
		return 1, appendLine(a.Path, fmt.Sprintf("%s %d", a.Tag, os.Getpid()))
	})
	// poison appends "poison <pid>" to the file at path, then kills its
	// worker process.
	poison = process.MustRegister(testReg, "poison", func(_ context.Context, path string) (int, error) {
		if err := appendLine(path, fmt.Sprintf("poison %d", os.Getpid())); err != nil {
			return 0, err
		}
		os.Exit(3)
		return 0, nil
	})
	// gated blocks, ignoring its ctx, until the test opens the gate of its
	// name (in-process workers only).
	gated = process.MustRegister(testReg, "gated", func(_ context.Context, name string) (int, error) {
		g := gateOf(name)
		g.entered <- struct{}{}
		<-g.open
		return 1, nil
	})
	// big returns n bytes.
	bigResult = process.MustRegister(testReg, "big", func(_ context.Context, n int) ([]byte, error) { return make([]byte, n), nil })
)

// waitAll waits for fs, which must all succeed.
func waitAll[T any](t *testing.T, ctx context.Context, fs []*future.Future[T]) {
	t.Helper()
	for i, f := range fs {
		if _, err := f.Result(ctx); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
}

type tagArg struct{ Path, Tag string }

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n") // one write, under PIPE_BUF: not interleaved
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
}

type gate struct {
	entered chan struct{}
	open    chan struct{}
}

var (
	gatesMu sync.Mutex
	gates   = map[string]*gate{}
	gateSeq atomic.Int64
)

func gateOf(name string) *gate {
	gatesMu.Lock()
	defer gatesMu.Unlock()
	g := gates[name]
	if g == nil {
		g = &gate{entered: make(chan struct{}, 64), open: make(chan struct{})}
		gates[name] = g
	}
	return g
}

// TestLateJoinerShares: worker a runs a batch of 40 tasks of 200 ms, two at
// a time; worker b joins when a has finished 10 of them (a second in) and
// runs at least a quarter of the batch. With the library's default
// prefetch, a holds only what it can start soon, so the tasks wait in the
// stream where b finds them. (With the fixed prefetch of 256 of before, b
// got none.)
func TestLateJoinerShares(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	a := startProc(t, ex.URL(), testToken, EnvPrefetch+"=256") // the default maximum
	const n = 40
	fs := make([]*future.Future[int], n)
	for i := range fs {
		f, err := executor.Call(ctx, ex, napPid, 200)
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = f
	}
	done := 0
	for range future.AsCompleted(ctx, fs) {
		if done++; done == 10 {
			break
		}
	}
	b := startProc(t, ex.URL(), testToken, EnvPrefetch+"=256")
	byPid := map[int]int{}
	for i, f := range fs {
		pid, err := f.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		byPid[pid]++
	}
	ran := byPid[b.cmd.Process.Pid]
	t.Logf("a ran %d, b ran %d of %d", byPid[a.cmd.Process.Pid], ran, n)
	if ran < n/4 {
		t.Fatalf("the late worker ran %d of %d tasks, want at least %d", ran, n, n/4)
	}
}

// TestPoisonSparesInnocents: one task among 200 kills every worker process
// that runs it. It fails with a *DeliveryError after exactly WithMaxAttempts
// executions (counted as lines its executions append to a file), and none
// of the other 199 fails, though each crash took down the tasks its worker
// held: only a delivery that started a task counts against its limit, and
// after the first crash the poison task runs alone. Every innocent task ran
// at least once; those that ran twice were running, or done with their
// result on its way, when their worker died.
func TestPoisonSparesInnocents(t *testing.T) {
	const maxAttempts = 3
	ex := newTestExecutor(t, WithMaxAttempts(maxAttempts), WithWorkerProcesses(2))
	ctx := waitCtx(t)
	path := filepath.Join(t.TempDir(), "runs")
	const n = 200
	var fs []*future.Future[int]
	var poisoned *future.Future[int]
	for i := range n {
		var f *future.Future[int]
		var err error
		if i == n/4 {
			f, err = executor.Call(ctx, ex, poison, path)
			poisoned = f
		} else {
			f, err = executor.Call(ctx, ex, tagRun, tagArg{Path: path, Tag: "t" + strconv.Itoa(i)})
		}
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for i, f := range fs {
		_, err := f.Result(ctx)
		if f == poisoned {
			var de *DeliveryError
			if !errors.As(err, &de) || !errors.Is(err, ErrDeliveryLimit) || !errors.Is(err, executor.ErrWorkerDied) || de.Attempts != maxAttempts {
				t.Fatalf("the poison task: %v; want a *DeliveryError after %d attempts", err, maxAttempts)
			}
			continue
		}
		if err != nil {
			t.Errorf("innocent task %d failed: %v", i, err)
		}
	}
	runs := map[string]int{}
	for _, l := range readLines(t, path) {
		tag, _, _ := strings.Cut(l, "_")
		runs[tag]++
	}
	if runs["poison"] != maxAttempts {
		t.Errorf("the poison task ran %d times, want %d", runs["poison"], maxAttempts)
	}
	twice := 0
	for i := range n {
		if i == n/4 {
			continue
		}
		switch k := runs["t"+strconv.Itoa(i)]; {
		case k == 0:
			t.Errorf("task %d never ran", i)
		case k > 1:
			twice++
		}
	}
	t.Logf("%d innocent tasks ran more than once (held by a worker that crashed after running them)", twice)
}

// TestDrainHandsBack: a worker holds tasks queued behind two that ignore
// their ctx and block. When its ctx ends it hands back every task it has not
// started (another worker runs them at once, while the two still block),
// cancels the blocked ones at the drain timeout, and returns about a second
// later although they ignore the cancellation.
func TestDrainHandsBack(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	core, logs := observer.New(zap.InfoLevel)
	const drain = 300 * time.Millisecond
	w, err := NewWorker(testReg, WithURL(ex.URL()), WithToken(testToken), WithConcurrency(2), WithPrefetch(8),
		WithDrainTimeout(drain), WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	// Quick tasks first, so that the worker knows it may hold more.
	path := filepath.Join(t.TempDir(), "runs")
	var quick []*future.Future[int]
	for i := range 50 {
		f, err := executor.Call(ctx, ex, tagRun, tagArg{Path: path, Tag: "warm" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		quick = append(quick, f)
	}
	waitAll(t, ctx, quick)
	name := fmt.Sprintf("%s-%d", t.Name(), gateSeq.Add(1)) // a fresh gate for each run (-count)
	g := gateOf(name)
	defer close(g.open) // the abandoned tasks return when the test ends
	for range 2 {
		if _, err := executor.Call(ctx, ex, gated, name); err != nil {
			t.Fatal(err)
		}
	}
	<-g.entered
	<-g.entered
	quick = quick[:0]
	for i := range 8 {
		f, err := executor.Call(ctx, ex, tagRun, tagArg{Path: path, Tag: "late" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		quick = append(quick, f)
	}
	// Wait until the worker holds some of them.
	for {
		_, held := w.sess.Load().load()
		if held > 2 {
			break
		}
		if !sleepCtx(ctx, 5*time.Millisecond) {
			t.Fatal("the worker never took the queued tasks")
		}
	}
	stopped := time.Now()
	stop()
	startWorker(t, ex.URL())
	waitAll(t, ctx, quick) // while the two still block
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return")
	}
	took := time.Since(stopped)
	t.Logf("Run returned %v after its ctx ended (drain timeout %v)", took, drain)
	if took > drain+abandonAfter+5*time.Second {
		t.Errorf("Run returned %v after its ctx ended; want about %v", took, drain+abandonAfter)
	}
	if logs.FilterMessageSnippet("abandoning").Len() != 1 {
		t.Errorf("no warning about the abandoned tasks; logs: %v", logs.All())
	}
}

// TestTooLargeResult: a result that does not fit in a message fails its
// task with an error matching ErrTooLarge, on the submitter.
func TestTooLargeResult(t *testing.T) {
	ex := newTestExecutor(t)
	startWorker(t, ex.URL())
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, bigResult, int(ex.nc.MaxPayload())+1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(ctx); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want one matching ErrTooLarge", err)
	}
}
