package process_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// startBlocked runs blockFn on p and returns its future and the pid of the
// helper running it, once it runs.
func startBlocked(t *testing.T, p *process.Executor) (*future.Future[int], int) {
	t.Helper()
	ctx := ctxT(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := executor.Call(ctx, p, blockFn, fifo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(fifo) // blocks until the task opens it
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return f, pid
}

func TestHelperKilledMidTask(t *testing.T) {
	var stopped atomic.Int32
	p := newPool(t, process.WithWorkers(1), process.WithHooks(&executor.Hooks{
		WorkerStopped: func(r executor.WorkerExit) {
			if r == executor.ExitCrashed {
				stopped.Add(1)
			}
		},
	}))
	ctx := ctxT(t)
	f, pid := startBlocked(t, p)
	// Tasks queued behind the blocked one, some sent to the same helper.
	var behind []*future.Future[int]
	for i := range 10 {
		g, err := executor.Call(ctx, p, incFn, i)
		if err != nil {
			t.Fatal(err)
		}
		behind = append(behind, g)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err := f.Result(ctx)
	var we *process.WorkerError
	if !errors.As(err, &we) || !errors.Is(err, executor.ErrWorkerDied) {
		t.Fatalf("err = %v, want a WorkerError", err)
	}
	if we.Pid != pid || we.Signal != syscall.SIGKILL || !strings.Contains(err.Error(), "signal 9") {
		t.Fatalf("worker error = %+v (%v)", we, err)
	}
	if executor.OutcomeOf(err) != executor.OutcomeWorkerDied {
		t.Fatalf("outcome = %v", executor.OutcomeOf(err))
	}
	for i, g := range behind {
		if v, err := g.Result(ctx); err != nil || v != i+1 {
			t.Fatalf("task %d behind the killed one: %d, %v", i, v, err)
		}
	}
	if pid2, err := call(t, p, pidFn, 0); err != nil || pid2 == pid {
		t.Fatalf("replacement pid = %d, %v", pid2, err)
	}
	if stopped.Load() != 1 {
		t.Fatalf("WorkerStopped(crashed) called %d times", stopped.Load())
	}
}

func TestHelperExits(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	_, err := call(t, p, exitFn, 7)
	var we *process.WorkerError
	if !errors.As(err, &we) || we.ExitCode != 7 || we.Signal != 0 || !strings.Contains(we.Stderr, "about to exit with 7") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "exit status 7") || !strings.Contains(err.Error(), strconv.Itoa(we.Pid)) {
		t.Fatalf("message = %q", err.Error())
	}
	if v, err := call(t, p, incFn, 1); err != nil || v != 2 {
		t.Fatalf("after exit: %d, %v", v, err)
	}
}

func TestTaskTimeout(t *testing.T) {
	var mu sync.Mutex
	var reasons []executor.WorkerExit
	var outcomes []executor.Outcome
	hooks := &executor.Hooks{
		WorkerStopped: func(r executor.WorkerExit) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() },
		Finished:      func(f executor.Finish) { mu.Lock(); outcomes = append(outcomes, f.Outcome); mu.Unlock() },
	}
	p := newPool(t, process.WithWorkers(1), process.WithTaskTimeout(300*time.Millisecond), process.WithHooks(hooks))
	ctx := ctxT(t)
	slow, err := executor.Call(ctx, p, sleepFn, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := executor.Call(ctx, p, sleepFn, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	_, err = slow.Result(ctx)
	var te *process.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, executor.ErrWorkerDied) {
		t.Fatalf("err = %v", err)
	}
	if executor.OutcomeOf(err) != executor.OutcomeTimeout {
		t.Fatalf("outcome %v", executor.OutcomeOf(err))
	}
	// The task queued behind it runs on the replacement.
	if d, err := quick.Result(ctx); err != nil || d != time.Millisecond {
		t.Fatalf("quick: %v, %v", d, err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Hooks run on the pool's goroutines; Shutdown returned, so they are done.
	mu.Lock()
	defer mu.Unlock()
	if len(reasons) != 2 || reasons[0] != executor.ExitTimeout || reasons[1] != executor.ExitShutdown {
		t.Fatalf("worker exits = %v", reasons)
	}
	if len(outcomes) != 2 || outcomes[0] != executor.OutcomeTimeout || outcomes[1] != executor.OutcomeOK {
		t.Fatalf("outcomes = %v", outcomes)
	}
}

// TestTimeoutKillsGroup checks that a timeout kills the helper's whole
// process group: the grandchild holds the FIFO open, so the FIFO reaches EOF
// only when it is dead.
func TestTimeoutKillsGroup(t *testing.T) {
	p := newPool(t, process.WithWorkers(1), process.WithTaskTimeout(200*time.Millisecond))
	ctx := ctxT(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := executor.Call(ctx, p, blockChildFn, fifo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	br := bufio.NewReader(r)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if ended, err := eofWithin(br, 10*time.Second); !ended {
		t.Fatal("grandchild still alive 10s after the timeout")
	} else if err != io.EOF {
		t.Fatalf("read %v, want EOF", err)
	}
}

func frame(n uint32, kind byte, body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, n)
	return append(append(b, kind), body...)
}

func TestGarbageFromHelper(t *testing.T) {
	for name, tc := range map[string]struct {
		bytes []byte
		want  string
	}{
		"bad kind":       {frame(3, 0x2a, "abc"), "unknown frame kind"},
		"over the limit": {frame(1<<30, 3, ""), "frame too large"},
		"bad reply":      {frame(2, 3, "\xff\xff"), "protocol error"},
		"wrong id":       {frame(2, 3, "\x63\x00"), "not the running call"},
		"bad gob":        {append(frame(0, 0, ""), frame(7, 3, "\x01\x00\x04\xff\xff\xff\xff")[5:]...), "protocol error"},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPool(t, process.WithWorkers(1), process.WithMaxFrameSize(1<<20))
			before, berr := call(t, p, pidFn, 0)
			if berr != nil {
				t.Fatalf("pid: %v", berr)
			}
			_, err := call(t, p, garbageFn, tc.bytes)
			var we *process.WorkerError
			if !errors.As(err, &we) || !errors.Is(err, executor.ErrWorkerDied) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a WorkerError with %q", err, tc.want)
			}
			if we.Pid != before || !strings.Contains(we.Stderr, "writing garbage") {
				t.Fatalf("worker error = %+v", we)
			}
			if v, err := call(t, p, incFn, 1); err != nil || v != 2 {
				t.Fatalf("after garbage: %d, %v", v, err)
			}
		})
	}
}

// brokenPool checks that a pool whose helpers cannot start breaks with an
// error containing want, failing queued and later tasks.
func brokenPool(t *testing.T, want string, opts ...process.Option) {
	t.Helper()
	var stops atomic.Int32
	opts = append(opts, process.WithWorkers(2), process.WithHooks(&executor.Hooks{
		WorkerStopped: func(executor.WorkerExit) { stops.Add(1) },
	}))
	p, err := process.New(reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	f, err := executor.Call(ctx, p, incFn, 1)
	if err == nil {
		_, err = f.Result(ctx)
	}
	if !errors.Is(err, executor.ErrBroken) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want ErrBroken with %q", err, want)
	}
	if _, err := executor.Call(ctx, p, incFn, 1); !errors.Is(err, executor.ErrBroken) {
		t.Fatalf("later Call: %v", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBroken(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("exits at once", func(t *testing.T) {
		brokenPool(t, "exited before the handshake", process.WithHelper("/bin/true"))
	})
	t.Run("not a helper", func(t *testing.T) {
		brokenPool(t, "bad magic", process.WithHelper("/bin/sh", "-c", "echo hello there, I am not a helper >&4; sleep 5"))
	})
	t.Run("other registry", func(t *testing.T) {
		brokenPool(t, `missing functions ["any" "block"`, process.WithHelper(self), process.WithEnv("PROCESS_TEST_MODE=other"))
	})
	t.Run("stale protocol", func(t *testing.T) {
		brokenPool(t, fmt.Sprintf("speaks protocol version 99, this program %d: rebuild the helper", wire.Version), process.WithHelper(self), process.WithEnv("PROCESS_TEST_MODE=stale"))
	})
	t.Run("initializer fails", func(t *testing.T) {
		brokenPool(t, "init refused", process.WithInitializer(initFn, "fail"))
	})
	t.Run("missing binary", func(t *testing.T) {
		if _, err := process.New(reg, process.WithHelper(filepath.Join(t.TempDir(), "nope"))); err == nil || !strings.Contains(err.Error(), "helper binary") {
			t.Fatalf("New: %v", err)
		}
	})
	t.Run("binary removed", func(t *testing.T) {
		// A helper dies after its binary was removed: it cannot be replaced.
		bin := filepath.Join(t.TempDir(), "helper")
		copyFile(t, self, bin)
		p, err := process.New(reg, process.WithHelper(bin), process.WithWorkers(1))
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		if _, err := call(t, p, incFn, 1); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(bin); err != nil {
			t.Fatal(err)
		}
		if _, err := call(t, p, exitFn, 1); !errors.Is(err, executor.ErrWorkerDied) {
			t.Fatalf("exit: %v", err)
		}
		f, err := executor.Call(ctx, p, incFn, 1)
		if err == nil {
			_, err = f.Result(ctx)
		}
		if !errors.Is(err, executor.ErrBroken) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("after the binary was removed: %v", err)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOutOfMemory(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	_, err := call(t, p, oomFn, 0)
	var we *process.WorkerError
	// The Go runtime dies with "fatal error: out of memory", status 2. A
	// helper built with -race may run out first in the race detector's own
	// memory (ThreadSanitizer's "out of memory", status 66), depending on
	// what its other goroutines hold at the time.
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *WorkerError", err)
	}
	goOOM := we.ExitCode == 2 && strings.Contains(we.Stderr, "fatal error: ")
	tsanOOM := raceEnabled && we.ExitCode == 66 && strings.Contains(we.Stderr, "ThreadSanitizer: out of memory")
	if !goOOM && !tsanOOM {
		t.Fatalf("err = %v", err)
	}
	if v, err := call(t, p, incFn, 1); err != nil || v != 2 {
		t.Fatalf("after OOM: %d, %v", v, err)
	}
}

func TestInitializer(t *testing.T) {
	p := newPool(t, process.WithWorkers(2), process.WithInitializer(initFn, "ready"))
	for range 4 {
		if s, err := call(t, p, initValueFn, 0); err != nil || s != "ready" {
			t.Fatalf("initValue = %q, %v", s, err)
		}
	}
}

func TestMaxTasksPerChild(t *testing.T) {
	var maxed atomic.Int32
	p := newPool(t, process.WithWorkers(1), process.WithMaxTasksPerChild(2), process.WithHooks(&executor.Hooks{
		WorkerStopped: func(r executor.WorkerExit) {
			if r == executor.ExitMaxTasks {
				maxed.Add(1)
			}
		},
	}))
	ctx := ctxT(t)
	var fs []*future.Future[int]
	for range 6 {
		f, err := executor.Call(ctx, p, pidFn, 0)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	pids := map[int]int{}
	for _, f := range fs {
		pid, err := f.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pids[pid]++
	}
	if len(pids) != 3 {
		t.Fatalf("pids = %v, want 3 helpers with 2 tasks each", pids)
	}
	for _, n := range pids {
		if n != 2 {
			t.Fatalf("pids = %v", pids)
		}
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if maxed.Load() != 3 {
		t.Fatalf("max_tasks exits = %d", maxed.Load())
	}
}

func TestShutdownAndStop(t *testing.T) {
	t.Run("graceful waits", func(t *testing.T) {
		p := newPool(t, process.WithWorkers(1))
		ctx := ctxT(t)
		var fs []*future.Future[time.Duration]
		for range 3 {
			f, err := executor.Call(ctx, p, sleepFn, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if !f.Ready() {
				t.Fatal("Shutdown returned before the work finished")
			}
			if _, err := f.Result(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Shutdown(ctx); err != nil { // idempotent
			t.Fatal(err)
		}
	})
	t.Run("cancel pending", func(t *testing.T) {
		p := newPool(t, process.WithWorkers(1), process.WithMaxInFlight(1))
		ctx := ctxT(t)
		running, _ := startBlocked(t, p)
		var queued []*future.Future[int]
		for i := range 5 {
			f, err := executor.Call(ctx, p, incFn, i)
			if err != nil {
				t.Fatal(err)
			}
			queued = append(queued, f)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := p.Shutdown(short, executor.CancelPending()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a blocked task: %v", err)
		}
		for _, f := range queued {
			if !f.Cancelled() {
				t.Fatal("queued task not cancelled")
			}
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := running.Result(ctx); !errors.Is(err, executor.ErrStopped) {
			t.Fatalf("running task after Stop: %v", err)
		}
	})
	t.Run("stop", func(t *testing.T) {
		p := newPool(t, process.WithWorkers(1), process.WithMaxInFlight(1))
		ctx := ctxT(t)
		running, _ := startBlocked(t, p)
		queued, err := executor.Call(ctx, p, incFn, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, f := range []*future.Future[int]{running, queued} {
			if _, err := f.Result(ctx); !errors.Is(err, executor.ErrStopped) {
				t.Fatalf("after Stop: %v", err)
			}
		}
		if _, err := executor.Call(ctx, p, incFn, 1); !errors.Is(err, executor.ErrShutdown) {
			t.Fatalf("Call after Stop: %v", err)
		}
	})
}

func TestStartedByHand(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string]string{
		"ServeIfHelper without pipes": "GOFUTURES_PROCESS_HELPER=1",
		"Serve without a pool":        "PROCESS_TEST_MODE=serve",
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(self, "-test.run=^$")
			cmd.Env = append(os.Environ(), env)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "not by hand") && !strings.Contains(string(out), "does not run by hand") {
				t.Fatalf("err = %v, output %q", err, out)
			}
		})
	}
}

// TestNoOrphans kills a host with SIGKILL and checks that its helpers die
// too: they share the host's stdout, which reaches EOF only when every
// process holding it has exited.
func TestNoOrphans(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROCESS_TEST_MODE=host")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("host said %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ended, err := eofWithin(br, 10*time.Second); !ended {
		t.Fatalf("helpers %v still hold the host's stdout 10s after it was killed", f)
	} else if err == nil {
		t.Fatal("unexpected output")
	}
	_ = cmd.Wait()
	for _, s := range f {
		pid, _ := strconv.Atoi(s)
		if !waitExit(t, pid, 10*time.Second) {
			t.Errorf("helper %d still alive", pid)
		}
	}
}

// eofWithin reads a line from br, waiting at most d: ended is false if d
// passed first; else err is the read's (io.EOF once every process holding
// the pipe or FIFO behind br has closed it, as a dead process does).
func eofWithin(br *bufio.Reader, d time.Duration) (ended bool, err error) {
	eof := make(chan error, 1)
	go func() {
		_, err := br.ReadString('\n')
		eof <- err
	}()
	select {
	case err := <-eof:
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// waitExit waits until the process pid (not a child) has exited, with a
// pidfd, which becomes readable when the process exits.
func waitExit(t *testing.T, pid int, timeout time.Duration) bool {
	const sysPidfdOpen = 434
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if errno == syscall.ESRCH {
		return true
	}
	if errno != 0 {
		t.Fatalf("pidfd_open(%d): %v", pid, errno)
	}
	defer syscall.Close(int(fd))
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (fd % 64)
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	for {
		n, err := syscall.Select(int(fd)+1, &set, nil, nil, &tv)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("select: %v", err)
		}
		return n > 0
	}
}
