package process_test

import (
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
	"go.uber.org/goleak"
)

// The test binary is its own helper: TestMain serves reg (or otherReg, when
// a test asks for a helper with another registry) when started by an Executor.

var reg = process.NewRegistry()

var (
	errTest = reg.MustRegisterError("process_test.errTest", errors.New("test sentinel"))

	incFn = process.MustRegister(reg, "inc", func(_ context.Context, x int) (int, error) { return x + 1, nil })
	pidFn = process.MustRegister(reg, "pid", func(context.Context, int) (int, error) { return os.Getpid(), nil })
	// failFn fails with errTest for odd x, panics for x%3 == 0 (x > 0), else returns x.
	failFn = process.MustRegister(reg, "fail", func(_ context.Context, x int) (int, error) {
		switch {
		case x > 0 && x%3 == 0:
			panic(fmt.Sprintf("boom %d", x))
		case x%2 == 1:
			return -x, fmt.Errorf("odd %d: %w", x, errTest)
		}
		return x, nil
	})
	typedErrFn = process.MustRegister(reg, "typedErr", func(context.Context, string) (int, error) {
		return 0, &os.PathError{Op: "open", Path: "/nope", Err: syscall.ENOENT}
	})
	// blockFn writes its pid to the FIFO at path, then blocks forever.
	blockFn = process.MustRegister(reg, "block", func(_ context.Context, path string) (int, error) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
		select {}
	})
	// blockChildFn starts a grandchild that holds the FIFO at path open, writes
	// its pid there, then blocks forever.
	blockChildFn = process.MustRegister(reg, "blockChild", func(_ context.Context, path string) (int, error) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		cmd := exec.Command("sleep", "1000")
		cmd.Stdout = f
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		fmt.Fprintf(f, "%d\n", cmd.Process.Pid)
		f.Close()
		select {}
	})
	// oomFn limits its address space, then allocates past the limit: the Go
	// runtime dies with "out of memory".
	oomFn = process.MustRegister(reg, "oom", func(context.Context, int) (int, error) {
		lim := syscall.Rlimit{Cur: 2 << 30, Max: 2 << 30}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			return 0, err
		}
		b := make([]byte, 4<<30)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		return len(b), nil
	})
	exitFn = process.MustRegister(reg, "exit", func(_ context.Context, code int) (int, error) {
		fmt.Fprintf(os.Stderr, "about to exit with %d\n", code)
		os.Exit(code)
		return 0, nil
	})
	sleepFn = process.MustRegister(reg, "sleep", func(ctx context.Context, d time.Duration) (time.Duration, error) {
		time.Sleep(d)
		return d, nil
	})
	// garbageFn writes raw bytes on the protocol descriptor to the host.
	garbageFn = process.MustRegister(reg, "garbage", func(_ context.Context, b []byte) (int, error) {
		fmt.Fprintln(os.Stderr, "writing garbage")
		return os.NewFile(4, "to-host").Write(b)
	})
	echoFn    = process.MustRegister(reg, "echo", func(_ context.Context, s string) (string, error) { return s, nil })
	reverseFn = process.MustRegister(reg, "reverse", func(_ context.Context, b []byte) ([]byte, error) {
		slices.Reverse(b)
		return b, nil
	})
	lowByteFn = process.MustRegister(reg, "lowByte", func(_ context.Context, x int) (uint8, error) { return uint8(x), nil })
	halfFn    = process.MustRegister(reg, "half", func(_ context.Context, x int) (float32, error) { return float32(x) / 2, nil })
	procsFn   = process.MustRegister(reg, "procs", func(context.Context, int) (string, error) {
		return fmt.Sprintf("%d %q", runtime.GOMAXPROCS(0), os.Getenv("GOFUTURES_PROCESS_HELPER_PROCS")), nil
	})
	repeatFn = process.MustRegister(reg, "repeat", func(_ context.Context, n int) (string, error) { return strings.Repeat("x", n), nil })
	anyFn    = process.MustRegister(reg, "any", func(_ context.Context, b box) (box, error) {
		if b.V == "unencodable" {
			return box{V: unregistered{1}}, nil
		}
		return b, nil
	})
	initFn = process.MustRegister(reg, "init", func(_ context.Context, s string) (bool, error) {
		if s == "fail" {
			return false, errors.New("init refused")
		}
		initValue = s
		return true, nil
	})
	initValueFn = process.MustRegister(reg, "initValue", func(context.Context, int) (string, error) { return initValue, nil })
)

// initValue is set by initFn in the helper.
var initValue string

type box struct{ V any }
type unregistered struct{ X int }

// otherReg is another program's registry.
var otherReg = process.NewRegistry()

var _ = process.MustRegister(otherReg, "other", func(_ context.Context, x int) (int, error) { return x, nil })

func TestMain(m *testing.M) {
	switch os.Getenv("PROCESS_TEST_MODE") {
	case "other":
		process.ServeIfHelper(otherReg)
	case "stale":
		// A helper built with another protocol version: a hello with version 99.
		body := append([]byte("gofutPRC"), 0, 0, 0, 99)
		frame := append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), 1)
		os.NewFile(4, "to-host").Write(append(frame, body...))
		os.Exit(0)
	case "serve":
		process.Serve(reg) // without the helper variable: refuses to run
	case "host":
		process.ServeIfHelper(reg)
		hostMode()
		return
	case "hostchild":
		process.ServeIfHelper(reg)
		hostChildMode()
		return
	case "forgot": // no ServeIfHelper: its helpers run this too
		forgotMode()
		return
	case "gate":
		gateMode()
	}
	if _, ok := os.LookupEnv("GOFUTURES_PROCESS_HELPER"); ok {
		gob.Register(helperOnly{})
	}
	process.ServeIfHelper(reg)
	// Helpers built with -race sleep 1s at exit by default.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	goleak.VerifyTestMain(childCheck{m}, goleak.IgnoreCurrent())
}

// childCheck fails the run if a child process outlives the tests.
type childCheck struct{ m *testing.M }

func (c childCheck) Run() int {
	code := c.m.Run()
	if kids := children(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "child processes left behind: %v\n", kids)
		return 1
	}
	return code
}

// children lists the processes whose parent is this process.
func children() []int {
	var kids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := os.Getpid()
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			kids = append(kids, pid)
		}
	}
	return kids
}

// hostMode is a host that prints its helpers' pids and waits to be killed.
func hostMode() {
	p, err := process.New(reg, process.WithWorkers(2))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	for {
		if pids := p.Pids(); len(pids) == 2 {
			fmt.Println(pids[0], pids[1])
			break
		}
		f, err := executor.Call(ctx, p, pidFn, 0)
		if err == nil {
			_, err = f.Result(ctx)
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	select {}
}
