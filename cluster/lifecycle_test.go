package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// orphanMaker starts a child process that would outlive the task (sleep),
// says on standard error which pids its worker and the child have, and waits
// for the child, ignoring its ctx.
var orphanMaker = process.MustRegister(testReg, "orphanMaker", func(_ context.Context, n int) (int, error) {
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "orphan-test: task %d worker %d child %d\n", n, os.Getpid(), cmd.Process.Pid)
	_ = cmd.Wait()
	return n, nil
})

// Environment of TestSubmitterHelper.
const (
	envSubmitterHelper = "GOFUTURES_TEST_SUBMITTER"       // "1": be the submitter
	envSubmitterStore  = "GOFUTURES_TEST_SUBMITTER_STORE" // its JetStream directory
)

// TestSubmitterHelper is the submitter of TestSubmitterKilledLeavesNoOrphans
// (the test binary re-executed); in any other process it does nothing. It
// starts two worker processes, says their pids, gives each a task that
// starts a child process and ignores its ctx, and waits to be killed.
func TestSubmitterHelper(t *testing.T) {
	if os.Getenv(envSubmitterHelper) != "1" {
		return
	}
	ctx := context.Background()
	ex, err := New(ctx, testReg, WithToken(testToken), WithStoreDir(os.Getenv(envSubmitterStore)),
		WithWorkerProcesses(2), WithConcurrency(1), WithPrefetch(0), WithDrainTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, c := range ex.procs.started() {
		pids = append(pids, strconv.Itoa(c.Process.Pid))
	}
	fmt.Fprintf(os.Stderr, "orphan-test: workers %s\n", strings.Join(pids, " "))
	for i := range 2 {
		if _, err := executor.Call(ctx, ex, orphanMaker, i); err != nil {
			t.Fatal(err)
		}
	}
	<-time.After(2 * time.Minute) // a give-up limit: the test kills this process long before
	t.Fatal("the test did not kill its submitter")
}

// TestSubmitterKilledLeavesNoOrphans: a submitter killed with SIGKILL
// leaves neither its worker processes nor the processes their tasks started
// behind, even though the tasks ignore their ctx.
func TestSubmitterKilledLeavesNoOrphans(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := &syncBuffer{}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSubmitterHelper$")
	cmd.Env = append(os.Environ(), envSubmitterHelper+"=1", envSubmitterStore+"="+t.TempDir())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{}) // the submitter is reaped and its stderr closed: every worker is gone
	go func() { _ = cmd.Wait(); close(waited) }()
	var recorded []procID
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for _, p := range recorded {
			if p.alive() {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			t.Errorf("the submitter's standard error is still open (a worker process is left); output:\n%s", out.String())
		}
	})

	workers, err := waitMatches(ctx, out, regexp.MustCompile(`orphan-test: workers (\d+) (\d+)\n`), 1)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := waitMatches(ctx, out, regexp.MustCompile(`orphan-test: task \d+ worker (\d+) child (\d+)\n`), 2)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, m := range append(workers, tasks...) {
		for _, s := range m[1:] {
			if n, _ := strconv.Atoi(s); !slices.Contains(pids, n) {
				pids = append(pids, n)
			}
		}
	}
	for _, pid := range pids {
		p, ok := newProcID(pid)
		if !ok {
			t.Fatalf("pid %d is gone before the submitter was killed; output:\n%s", pid, out.String())
		}
		recorded = append(recorded, p)
	}
	if len(recorded) != 4 {
		t.Fatalf("%d processes recorded (%v), want 2 workers and 2 children", len(recorded), pids)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var left []string
		for _, p := range recorded {
			if p.alive() {
				left = append(left, p.describe())
			}
		}
		if len(left) == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("after the submitter was killed, still running:\n  %s\noutput:\n%s", strings.Join(left, "\n  "), out.String())
		}
	}
}

// waitMatches waits until re matches n times in buf and returns the matches.
func waitMatches(ctx context.Context, buf *syncBuffer, re *regexp.Regexp, n int) ([][]string, error) {
	for {
		buf.mu.Lock()
		m := re.FindAllStringSubmatch(buf.b.String(), -1)
		if len(m) >= n {
			buf.mu.Unlock()
			return m, nil
		}
		if buf.changed == nil {
			buf.changed = make(chan struct{})
		}
		ch := buf.changed
		buf.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%d matches of %q, want %d: %w; output so far:\n%s", len(m), re, n, ctx.Err(), buf.String())
		}
	}
}

// procID is a process: its pid and its start time, so that a pid reused
// by another process does not count.
type procID struct {
	pid   int
	start string
}

// procStat returns the fields of /proc/pid/stat after the command name
// (state, ppid, pgrp, ...) and the name.
func procStat(pid int) (fields []string, comm string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, "", false
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return nil, "", false
	}
	f := strings.Fields(s[j+1:])
	return f, s[i+1 : j], len(f) > 19
}

func newProcID(pid int) (procID, bool) {
	f, _, ok := procStat(pid)
	if !ok || f[0] == "Z" || f[0] == "X" {
		return procID{}, false
	}
	return procID{pid: pid, start: f[19]}, true
}

// alive reports whether the process still runs (a zombie does not).
func (p procID) alive() bool {
	f, _, ok := procStat(p.pid)
	return ok && f[19] == p.start && f[0] != "Z" && f[0] != "X"
}

func (p procID) describe() string {
	f, comm, ok := procStat(p.pid)
	if !ok {
		return fmt.Sprintf("pid %d: gone", p.pid)
	}
	ppid, _ := strconv.Atoi(f[1])
	_, pcomm, _ := procStat(ppid)
	return fmt.Sprintf("pid %d (%s) state %s, parent %d (%s), process group %s", p.pid, comm, f[0], ppid, pcomm, f[2])
}

// TestWorkerLogEnv: a worker process with GOFUTURES_CLUSTER_LOG=info logs
// its life on standard error; with a bad value of it (or of
// GOFUTURES_CLUSTER_DRAIN_TIMEOUT) it says so and exits with status 2.
func TestWorkerLogEnv(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	t.Run("info", func(t *testing.T) {
		p := startProc(t, ex.URL(), testToken, EnvLog+"=info")
		if err := p.stderr.waitFor(ctx, "worker running"); err != nil {
			t.Fatal(err)
		}
		f, err := executor.Call(ctx, ex, square, 7)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != 49 {
			t.Fatalf("square(7) = %d, %v", v, err)
		}
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-ctx.Done():
			t.Fatalf("worker did not exit after its stdin closed; output:\n%s", p.stderr.String())
		}
		if p.err != nil {
			t.Fatalf("worker: %v; output:\n%s", p.err, p.stderr.String())
		}
		log := p.stderr.String()
		for _, want := range []string{"worker running", "worker stopped", "\tINFO\t", fmt.Sprintf(`"pid": %d`, p.cmd.Process.Pid)} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if strings.Contains(log, "\tDEBUG\t") {
			t.Errorf("debug lines at level info:\n%s", log)
		}
	})
	for _, bad := range []string{EnvLog + "=loud", EnvDrainTimeout + "=soon"} {
		t.Run(bad, func(t *testing.T) {
			p := startProc(t, ex.URL(), testToken, bad)
			select {
			case <-p.done:
			case <-ctx.Done():
				t.Fatalf("worker with %s still running; output:\n%s", bad, p.stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(p.err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("worker with %s: %v, want exit status 2; output:\n%s", bad, p.err, p.stderr.String())
			}
			if name, _, _ := strings.Cut(bad, "="); !strings.Contains(p.stderr.String(), name) {
				t.Fatalf("message does not name %s:\n%s", name, p.stderr.String())
			}
		})
	}
}

// TestWorkerLogLevelPassed: the worker processes an Executor starts get the
// lowest level its logger writes (none for a logger that writes nothing),
// unless the environment already sets GOFUTURES_CLUSTER_LOG; and its drain
// timeout.
func TestWorkerLogLevelPassed(t *testing.T) {
	last := func(env []string, key string) (string, bool) {
		for _, kv := range slices.Backward(env) {
			if v, ok := strings.CutPrefix(kv, key+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	observed := func(l zapcore.Level) *zap.Logger {
		core, _ := observer.New(l)
		return zap.New(core)
	}
	for _, tc := range []struct {
		name   string
		logger *zap.Logger
		parent string // EnvLog in this process's environment
		want   string // "": not set
	}{
		{"nop", zap.NewNop(), "", ""},
		{"debug", observed(zapcore.DebugLevel), "", "debug"},
		{"info", observed(zapcore.InfoLevel), "", "info"},
		{"error", observed(zapcore.ErrorLevel), "", "error"},
		{"parent sets it", observed(zapcore.DebugLevel), "warn", "warn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvLog, tc.parent) // restored at the end
			if tc.parent == "" {
				_ = os.Unsetenv(EnvLog)
			}
			cfg := defaultConfig()
			cfg.logger = tc.logger
			got, ok := last(workerEnv(&cfg, "nats://127.0.0.1:1"), EnvLog)
			if ok != (tc.want != "") || got != tc.want {
				t.Fatalf("%s=%q (set: %v), want %q", EnvLog, got, ok, tc.want)
			}
		})
	}
	t.Run("executor", func(t *testing.T) {
		t.Setenv(EnvLog, "")
		_ = os.Unsetenv(EnvLog)
		ex := newTestExecutor(t, WithLogger(observed(zapcore.InfoLevel)), WithWorkerProcesses(1),
			WithDrainTimeout(1500*time.Millisecond))
		for _, c := range ex.procs.started() {
			trackProc(c.Process)
		}
		for key, want := range map[string]string{EnvLog: "info", EnvDrainTimeout: "1.5s"} {
			if got, _ := last(ex.procs.env, key); got != want {
				t.Errorf("worker processes get %s=%q, want %q", key, got, want)
			}
		}
		ctx := waitCtx(t)
		f, err := executor.Call(ctx, ex, square, 3)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != 9 {
			t.Fatalf("square(3) = %d, %v", v, err)
		}
	})
}
