package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/process"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

// The registry of the test binary: the test process and the worker
// processes it starts (the binary re-executed, see TestMain) share it.
var (
	testReg = process.NewRegistry()
	errBoom = testReg.MustRegisterError("cluster_test.errBoom", errors.New("boom"))

	square = process.MustRegister(testReg, "square", func(_ context.Context, n int) (int, error) { return n * n, nil })
	fail   = process.MustRegister(testReg, "fail", func(_ context.Context, n int) (int, error) {
		return 0, errBoomf(n)
	})
	panicky = process.MustRegister(testReg, "panicky", func(_ context.Context, n int) (int, error) { panic("no luck") })
	// hangOnce blocks the first time it runs with a path (until cancelled)
	// and returns "again" every later time.
	hangOnce = process.MustRegister(testReg, "hangOnce", func(ctx context.Context, path string) (string, error) {
		if _, err := os.Stat(path); err == nil {
			return "again", nil
		}
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(os.Stderr, "hanging pid %d\n", os.Getpid())
		<-ctx.Done()
		return "", ctx.Err()
	})
	// crash kills the worker process that runs it.
	crash = process.MustRegister(testReg, "crash", func(_ context.Context, n int) (int, error) {
		os.Exit(3)
		return 0, nil
	})
	// size returns len(b).
	size = process.MustRegister(testReg, "size", func(_ context.Context, b []byte) (int, error) { return len(b), nil })
	// long runs for n milliseconds (longer than the tests' ack wait) and
	// counts its runs.
	long = process.MustRegister(testReg, "long", func(ctx context.Context, n int) (int, error) {
		longRuns.Add(1)
		select {
		case <-time.After(time.Duration(n) * time.Millisecond): // the task's work
			return n, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	longRuns atomic.Int32
	// pid returns the pid of the process that runs it.
	pid = process.MustRegister(testReg, "pid", func(context.Context, int) (int, error) { return os.Getpid(), nil })
	// block runs until cancelled.
	block = process.MustRegister(testReg, "block", func(ctx context.Context, n int) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
)

type boomErr struct{ n int }

func (e *boomErr) Error() string        { return "boom " + string(rune('0'+e.n%10)) }
func (e *boomErr) Is(target error) bool { return target == errBoom }

func errBoomf(n int) error { return &boomErr{n} }

func TestMain(m *testing.M) {
	var opts []WorkerOption
	if os.Getenv("CLUSTER_TEST_DEBUG") != "" { // worker processes log to their stderr
		l, _ := zap.NewDevelopment()
		opts = append(opts, WithLogger(l))
	}
	process.ServeIfHelper(testReg) // the local helpers of WithLocalHelpers
	ServeIfWorker(testReg, opts...)
	ignore := goleak.IgnoreCurrent()
	code := m.Run()
	if code == 0 {
		if n := liveProcs(); n > 0 {
			fmt.Fprintf(os.Stderr, "%d worker processes still running after the tests\n", n)
			code = 1
		}
		if err := goleak.Find(ignore); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// allProcs are the worker processes the tests started.
var (
	procsMu  sync.Mutex
	allProcs []*os.Process
)

func trackProc(p *os.Process) {
	procsMu.Lock()
	allProcs = append(allProcs, p)
	procsMu.Unlock()
}

// liveProcs counts tracked processes that still exist (signal 0 succeeds
// on a process that has not been reaped).
func liveProcs() int {
	procsMu.Lock()
	defer procsMu.Unlock()
	n := 0
	for _, p := range allProcs {
		if p.Signal(syscall.Signal(0)) == nil {
			n++
		}
	}
	return n
}

const testToken = "s3cret-token"

// testOpts are the executor options of most tests: embedded server in a
// test directory, a short ack wait.
func testOpts(t *testing.T, more ...ExecutorOption) []ExecutorOption {
	return append([]ExecutorOption{WithToken(testToken), WithStoreDir(t.TempDir()), WithAckWait(400 * time.Millisecond),
		WithPublishTimeout(time.Second)}, more...)
}

func newTestExecutor(t *testing.T, more ...ExecutorOption) *Executor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ex, err := New(ctx, testReg, testOpts(t, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ex.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return ex
}

// startWorker runs a worker in this process until the test ends (see
// runWorker, for a test that stops it sooner).
func startWorker(t *testing.T, url string, more ...WorkerOption) {
	t.Helper()
	runWorker(t, url, more...)
}

// proc is a worker process: the test binary re-executed.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	done   chan struct{}
	err    error // of Wait, after done
}

// syncBuffer collects a process's standard error and lets tests wait for
// a string in it.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer contains sub.
func (s *syncBuffer) waitFor(ctx context.Context, sub string) error {
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), sub) {
			s.mu.Unlock()
			return nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%q not seen: %w; output so far:\n%s", sub, ctx.Err(), s.String())
		}
	}
}

// startProc starts a worker process connecting to url with token. It stops
// when the test ends (stdin closed; killed if it does not exit in time).
func startProc(t *testing.T, url, token string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), EnvWorker+"=1", EnvURL+"="+url, EnvToken+"="+token, envStdin+"=1",
		EnvConcurrency+"=2", EnvPrefetch+"=4")
	cmd.Env = append(cmd.Env, env...)
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	trackProc(cmd.Process)
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
			t.Errorf("worker pid %d did not exit after its stdin closed; killed", cmd.Process.Pid)
		}
	})
	return p
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
