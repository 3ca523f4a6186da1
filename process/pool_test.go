package process_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/process"
)

func newPool(t *testing.T, opts ...process.Option) *process.Executor {
	t.Helper()
	p, err := process.New(reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func call[A, R any](t *testing.T, p executor.Executor, fn executor.Func[A, R], arg A) (R, error) {
	t.Helper()
	ctx := ctxT(t)
	f, err := executor.Call(ctx, p, fn, arg)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	return f.Result(ctx)
}

func TestCall(t *testing.T) {
	p := newPool(t, process.WithWorkers(2))
	ctx := ctxT(t)
	for i := range 100 {
		v, err := call(t, p, incFn, i)
		if err != nil || v != i+1 {
			t.Fatalf("inc(%d) = %d, %v", i, v, err)
		}
	}
	s, err := call(t, p, echoFn, "héllo")
	if err != nil || s != "héllo" {
		t.Fatalf("echo = %q, %v", s, err)
	}
	// Functions registered by name also run in this process.
	if v, err := incFn.Call(ctx, 1); v != 2 || err != nil {
		t.Fatalf("Call in-process = %d, %v", v, err)
	}
	if p.Workers() != 2 {
		t.Fatalf("Workers = %d", p.Workers())
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := executor.Call(ctx, p, incFn, 1); !errors.Is(err, executor.ErrShutdown) {
		t.Fatalf("Call after Shutdown: %v", err)
	}
}

func TestChunk(t *testing.T) {
	p := newPool(t, process.WithWorkers(2))
	ctx := ctxT(t)
	args := []int{0, 1, 2, 3, 4, 5, 6, 7}
	f, err := executor.CallChunk(ctx, p, failFn, args)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != len(args) {
		t.Fatalf("len = %d", c.Len())
	}
	for i, a := range args {
		err := c.Err(i)
		var pe *executor.PanicError
		switch {
		case a > 0 && a%3 == 0:
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "boom") {
				t.Errorf("item %d: %v, want a panic", i, err)
			}
		case a%2 == 1:
			if !errors.Is(err, errTest) || c.Values[i] != -a {
				t.Errorf("item %d: %d, %v; want errTest", i, c.Values[i], err)
			}
		default:
			if err != nil || c.Values[i] != a {
				t.Errorf("item %d: %d, %v", i, c.Values[i], err)
			}
		}
	}
	// all good: Errs is nil
	f2, err := executor.CallChunk(ctx, p, incFn, []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := f2.Result(ctx)
	if err != nil || c2.Errs != nil || !slices.Equal(c2.Values, []int{2, 3, 4}) {
		t.Fatalf("chunk = %+v, %v", c2, err)
	}
	// empty chunk
	f3, err := executor.CallChunk(ctx, p, incFn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c3, err := f3.Result(ctx); err != nil || c3.Len() != 0 {
		t.Fatalf("empty chunk = %+v, %v", c3, err)
	}
}

// Results of predeclared types travel without gob (wire.StatusRaw), those
// of named types with it; both arrive as the function returned them.
func TestResultTypes(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	ctx := ctxT(t)
	check := func(what string, err error, result func() (any, error), want any) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got, err := result(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, %v; want %#v", what, got, err, want)
		}
	}
	for _, s := range []string{"", "héllo\x00", strings.Repeat("y", 70_000)} {
		f, err := executor.Call(ctx, p, echoFn, s)
		check("echo", err, func() (any, error) { return f.Result(ctx) }, s)
	}
	fb, err := executor.Call(ctx, p, reverseFn, []byte{0, 1, 255})
	check("reverse", err, func() (any, error) { return fb.Result(ctx) }, []byte{255, 1, 0})
	ff, err := executor.Call(ctx, p, halfFn, -3)
	check("half", err, func() (any, error) { return ff.Result(ctx) }, float32(-1.5))
	fd, err := executor.Call(ctx, p, sleepFn, 0) // time.Duration: gob
	check("sleep", err, func() (any, error) { return fd.Result(ctx) }, time.Duration(0))
	fi, err := executor.Call(context.Background(), p, deadlineFn, 0) // int64: no deadline
	check("deadline", err, func() (any, error) { return fi.Result(ctx) }, int64(0))
	fc, err := executor.CallChunk(ctx, p, lowByteFn, []int{1, 256, 511}) // []uint8 is []byte
	check("lowByte chunk", err, func() (any, error) {
		c, err := fc.Result(ctx)
		return c.Values, err
	}, []uint8{1, 0, 255})
}

// Each helper runs with its share of this process's GOMAXPROCS, unless
// the environment sets GOMAXPROCS; the variable that tells it is gone
// before tasks run.
func TestHelperProcs(t *testing.T) {
	if _, ok := os.LookupEnv("GOMAXPROCS"); ok {
		t.Skip("GOMAXPROCS is set: helpers keep it")
	}
	host := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		workers int
		env     []string
		want    int
	}{
		{host, nil, 1},
		{1, nil, host},
		{2 * host, nil, 1},
		{host, []string{"GOMAXPROCS=3"}, 3},
	} {
		p := newPool(t, process.WithWorkers(c.workers), process.WithEnv(c.env...))
		ctx := ctxT(t)
		f, err := executor.Call(ctx, p, procsFn, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.Result(ctx); err != nil || got != fmt.Sprintf("%d %q", c.want, "") {
			t.Errorf("%d workers, env %q: helper GOMAXPROCS and variable %s, %v; want %d", c.workers, c.env, got, err, c.want)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRemoteErrors(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	before, _ := call(t, p, pidFn, 0)

	_, err := call(t, p, failFn, 1)
	var re *process.RemoteError
	if !errors.As(err, &re) || !errors.Is(err, errTest) {
		t.Fatalf("err = %v (%T), want a RemoteError matching errTest", err, err)
	}
	if re.Type != "*fmt.wrapError" || re.Message != "odd 1: test sentinel" || re.Sentinel != "process_test.errTest" || !strings.Contains(re.Stack, "goroutine") {
		t.Fatalf("remote error = %+v", re)
	}

	_, err = call(t, p, typedErrFn, "")
	if !errors.As(err, &re) || re.Type != "*fs.PathError" || re.Message != "open /nope: no such file or directory" {
		t.Fatalf("typed error = %#v", err)
	}

	_, err = call(t, p, failFn, 3)
	var pe *executor.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom 3" || !strings.Contains(string(pe.Stack), "panic") {
		t.Fatalf("panic error = %#v", err)
	}
	// The helper lived on.
	if after, err := call(t, p, pidFn, 0); err != nil || after != before {
		t.Fatalf("pid after panic = %d, %v; want %d", after, err, before)
	}
}

func TestNotRemote(t *testing.T) {
	p := newPool(t, process.WithWorkers(1))
	ctx := ctxT(t)
	if _, err := executor.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, executor.ErrNotRemote) {
		t.Fatalf("closure: %v", err)
	}
	if _, err := executor.Call(ctx, p, executor.Fn(func(_ context.Context, x int) (int, error) { return x, nil }), 1); !errors.Is(err, executor.ErrNotRemote) {
		t.Fatalf("Fn: %v", err)
	}
	// Registered elsewhere, unknown to this pool's registry.
	stray := process.MustRegister(process.NewRegistry(), "stray", func(_ context.Context, x int) (int, error) { return x, nil })
	if _, err := executor.Call(ctx, p, stray, 1); !errors.Is(err, process.ErrNotRegistered) || !errors.Is(err, executor.ErrNotRemote) {
		t.Fatalf("unregistered: %v", err)
	}
	// Same name, other types.
	fake := process.MustRegister(process.NewRegistry(), "inc", func(_ context.Context, x string) (int, error) { return 0, nil })
	if _, err := executor.Call(ctx, p, fake, "x"); !errors.Is(err, process.ErrNotRegistered) {
		t.Fatalf("other types: %v", err)
	}
	if v, err := call(t, p, incFn, 1); v != 2 || err != nil {
		t.Fatalf("after: %d, %v", v, err)
	}
}

func TestEncodeFailures(t *testing.T) {
	p := newPool(t, process.WithWorkers(1), process.WithMaxFrameSize(64<<10))
	before, _ := call(t, p, pidFn, 0)
	// An argument gob cannot encode (unregistered type in an interface).
	if _, err := call(t, p, anyFn, box{V: unregistered{1}}); !errors.Is(err, process.ErrEncode) {
		t.Fatalf("unencodable argument: %v", err)
	}
	// A result gob cannot encode.
	if _, err := call(t, p, anyFn, box{V: "unencodable"}); !errors.Is(err, process.ErrEncode) {
		t.Fatalf("unencodable result: %v", err)
	}
	// An argument over the frame limit.
	if _, err := call(t, p, echoFn, strings.Repeat("y", 100<<10)); !errors.Is(err, process.ErrFrameTooLarge) {
		t.Fatalf("large argument: %v", err)
	}
	// A result over the frame limit.
	if _, err := call(t, p, repeatFn, 100<<10); !errors.Is(err, process.ErrFrameTooLarge) {
		t.Fatalf("large result: %v", err)
	}
	// The stream is still in sync, and the helper is the same.
	for i := range 20 {
		if v, err := call(t, p, echoFn, strings.Repeat("z", i)); err != nil || v != strings.Repeat("z", i) {
			t.Fatalf("echo after failures: %q, %v", v, err)
		}
	}
	if b, err := call(t, p, anyFn, box{V: "ok"}); err != nil || b.V != "ok" {
		t.Fatalf("box after failures: %v, %v", b, err)
	}
	if after, _ := call(t, p, pidFn, 0); after != before {
		t.Fatalf("helper replaced: %d -> %d", before, after)
	}
}

// capture is an executor that only records the task it is given, to get at
// a Remote to encode.
type capture struct {
	executor.Executor
	t driver.Task
}

func (c *capture) Schedule(_ context.Context, t driver.Task) error { c.t = t; return nil }

func TestRunCall(t *testing.T) {
	ctx := context.Background()
	p, err := process.New(reg, process.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	for _, tc := range []struct {
		arg     int
		wantV   int
		wantErr error
	}{{arg: 20, wantV: 21}, {arg: 7, wantV: 0, wantErr: errTest}} {
		fn := incFn
		if tc.wantErr != nil {
			fn = failFn
		}
		c := &capture{}
		f, err := executor.Call(ctx, c, fn, tc.arg)
		if err != nil {
			t.Fatal(err)
		}
		call, err := reg.EncodeCall(c.t.Remote())
		if err != nil {
			t.Fatal(err)
		}
		reply, err := p.RunCall(ctx, call) // runs in the helper
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.DecodeReply(reply, c.t.Remote()); err != nil {
			t.Fatal(err)
		}
		v, err := f.Result(ctx)
		if v != tc.wantV || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Fatalf("%d: %v, %v", tc.arg, v, err)
		}
	}
	if _, err := p.RunCall(ctx, []byte("garbage")); err == nil {
		t.Fatal("a bad call must fail RunCall")
	}
	for _, n := range reg.Names() {
		if strings.Contains(n, "ServeCall") {
			t.Fatal("Names lists the built-in function")
		}
	}
}

// Shutdown with nothing queued does not wait for a helper that is still
// starting: it kills it (it never ran anything), reports it as stopped by
// the shutdown, and the pool is not broken for it. A helper held before it
// serves (at the gate) shows it: Shutdown returns although it never comes
// through.
func TestShutdownDiscardsStartingHelper(t *testing.T) {
	g, opts := newStartGate(t)
	reasons := make(chan executor.WorkerExit, 4)
	opts = append(opts, process.WithWorkers(1), process.WithStartTimeout(time.Hour), process.WithHooks(&executor.Hooks{
		WorkerStopped: func(r executor.WorkerExit) { reasons <- r },
	}))
	p := newPool(t, opts...)
	ctx := ctxT(t)
	pid := g.next(ctx, t)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := <-reasons; r != executor.ExitShutdown {
		t.Fatalf("WorkerStopped(%s), want shutdown", r)
	}
	if !waitExit(t, pid, 20*time.Second) {
		t.Fatalf("helper %d still alive", pid)
	}
	if _, err := executor.Call(ctx, p, incFn, 1); !errors.Is(err, executor.ErrShutdown) || errors.Is(err, executor.ErrBroken) {
		t.Fatalf("Call after Shutdown: %v, want ErrShutdown", err)
	}
}
