package otelfutures_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/otelfutures"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// collector is a span processor that keeps the ended spans and lets a test
// wait for one: spans of tasks that ran in this process end just after their
// future completes.
type collector struct {
	mu    sync.Mutex
	cond  sync.Cond
	spans []sdktrace.ReadOnlySpan
}

func newTP(t *testing.T, s sdktrace.Sampler) (*collector, *sdktrace.TracerProvider) {
	c := &collector{}
	c.cond.L = &c.mu
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithSpanProcessor(c))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return c, tp
}

func (c *collector) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *collector) OnEnd(s sdktrace.ReadOnlySpan) {
	c.mu.Lock()
	c.spans = append(c.spans, s)
	c.cond.Broadcast()
	c.mu.Unlock()
}
func (c *collector) Shutdown(context.Context) error   { return nil }
func (c *collector) ForceFlush(context.Context) error { return nil }

// wait blocks until a span named name has ended, with the outcome given
// (if any), and returns it.
func (c *collector) wait(name string, outcome ...string) sdktrace.ReadOnlySpan {
	return c.waitFor(func(s sdktrace.ReadOnlySpan) bool {
		if s.Name() != name {
			return false
		}
		if len(outcome) == 2 {
			v, _ := attr(s, attribute.Key(outcome[0]))
			return v.Emit() == outcome[1]
		}
		return true
	})
}

// waitFor blocks until a span that ok accepts has ended and returns it.
func (c *collector) waitFor(ok func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for _, s := range c.spans {
			if ok(s) {
				return s
			}
		}
		c.cond.Wait()
	}
}

// waitCount blocks until n spans named name have ended. A task's span ends
// just after its future completes (the wrapper ends it when the task's Run
// returns), so a caller that saw every future done may not see every span
// yet.
func (c *collector) waitCount(name string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		k := 0
		for _, s := range c.spans {
			if s.Name() == name {
				k++
			}
		}
		if k >= n {
			return
		}
		c.cond.Wait()
	}
}

func (c *collector) all() []sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), c.spans...)
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes() {
		if a.Key == k {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttr(t *testing.T, s sdktrace.ReadOnlySpan, k attribute.Key, want string) {
	t.Helper()
	v, ok := attr(s, k)
	if !ok || v.Emit() != want {
		t.Errorf("span %q: %s = %q (present %v), want %q", s.Name(), k, v.Emit(), ok, want)
	}
}

func hasEvent(s sdktrace.ReadOnlySpan, name string) (sdktrace.Event, bool) {
	for _, e := range s.Events() {
		if e.Name == name {
			return e, true
		}
	}
	return sdktrace.Event{}, false
}

// executors makes each kind of executor the tests trace, stopped at the
// end of the test.
var executors = []struct {
	kind string
	make func(t *testing.T) executor.Executor
}{
	{"gopool", func(t *testing.T) executor.Executor {
		ex, err := executor.NewGoPool(executor.WithWorkers(2))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ex.Shutdown(context.Background()) })
		return ex
	}},
	{"process", func(t *testing.T) executor.Executor {
		ex, err := process.New(reg, process.WithWorkers(2))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ex.Shutdown(context.Background()) })
		return ex
	}},
	{"cluster", newCluster},
}

// newCluster starts an embedded server, an executor and a worker in this
// process, the worker with the Restorer.
func newCluster(t *testing.T) executor.Executor {
	ctx := context.Background()
	ex, err := cluster.New(ctx, reg, cluster.WithToken("otel-test"), cluster.WithStoreDir(t.TempDir()),
		cluster.WithStorage(cluster.MemoryStorage))
	if err != nil {
		t.Fatal(err)
	}
	w, err := cluster.NewWorker(reg, cluster.WithURL(ex.URL()), cluster.WithToken("otel-test"), cluster.WithConcurrency(2),
		cluster.WithRestorer(otelfutures.NewRestorer(otelfutures.WithPropagators(prop))))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() {
		_ = ex.Shutdown(ctx)
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return ex
}

// TestParentChild follows a request through each executor: the caller's
// span is the parent of the call's span (Trace), which is the parent of the
// task's span, which is the parent of a span the task starts where it runs
// (in a goroutine, a helper process, a cluster worker).
func TestParentChild(t *testing.T) {
	for _, x := range executors {
		t.Run(x.kind, func(t *testing.T) {
			col, tp := newTP(t, sdktrace.AlwaysSample())
			traced := otelfutures.Wrap(x.make(t), otelfutures.WithTracerProvider(tp), otelfutures.WithPropagators(prop))
			ctx, root := tp.Tracer("test").Start(context.Background(), "request")
			got, err := otelfutures.Trace(ctx, traced, "fan-out", func(ctx context.Context) (string, error) {
				f, err := executor.Call(ctx, traced, inside, 1)
				if err != nil {
					return "", err
				}
				return f.Result(ctx)
			})
			root.End()
			if err != nil {
				t.Fatal(err)
			}
			call := col.wait("fan-out")
			task := col.wait("gofutures.task otel.inside")
			if call.Parent().SpanID() != root.SpanContext().SpanID() {
				t.Errorf("call span's parent %s, want the request %s", call.Parent().SpanID(), root.SpanContext().SpanID())
			}
			if task.Parent().SpanID() != call.SpanContext().SpanID() || task.SpanContext().TraceID() != root.SpanContext().TraceID() {
				t.Errorf("task span's parent %s, want the call %s", task.Parent().SpanID(), call.SpanContext().SpanID())
			}
			if want := parentOf(task.SpanContext()); got != want {
				t.Errorf("the span started in the task has the parent %s, want the task span %s", got, want)
			}
			wantAttr(t, task, "gofutures.executor.kind", x.kind)
			wantAttr(t, task, "gofutures.executor.name", x.kind)
			wantAttr(t, task, "code.function.name", "otel.inside")
			wantAttr(t, task, "gofutures.task.outcome", "ok")
			wantAttr(t, task, "gofutures.task.attempt", "1")
			if task.Status().Code == codes.Error {
				t.Errorf("status %v", task.Status())
			}
			if _, ok := hasEvent(task, "gofutures.task.start"); !ok {
				t.Errorf("no start event: %v", task.Events())
			}
			for _, k := range []attribute.Key{"gofutures.task.wait", "gofutures.task.run"} {
				if v, ok := attr(task, k); !ok || v.AsFloat64() < 0 {
					t.Errorf("%s = %v (present %v)", k, v.AsFloat64(), ok)
				}
			}
			wantKind := trace.SpanKindClient
			if x.kind == "gopool" {
				wantKind = trace.SpanKindInternal
			}
			if task.SpanKind() != wantKind {
				t.Errorf("span kind %v, want %v", task.SpanKind(), wantKind)
			}
			if x.kind == "process" {
				_, ok := hasEvent(task, "gofutures.task.run")
				pid, _ := attr(task, "process.pid")
				if !ok || pid.AsInt64() <= 0 {
					t.Errorf("no run event or pid: %v, pid %v", task.Events(), pid.AsInt64())
				}
			}
		})
	}
}

// TestPoolCall runs package pool's Map over a traced executor inside Trace:
// one span covers the call, the parent of every chunk's span.
func TestPoolCall(t *testing.T) {
	for _, x := range executors[:2] {
		t.Run(x.kind, func(t *testing.T) {
			col, tp := newTP(t, sdktrace.AlwaysSample())
			traced := otelfutures.Wrap(x.make(t), otelfutures.WithTracerProvider(tp), otelfutures.WithPropagators(prop))
			p, err := pool.New(traced)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx := context.Background()
			res, err := otelfutures.Trace(ctx, traced, "pool.Map otel.inside", func(ctx context.Context) ([]string, error) {
				return pool.Map(ctx, p, inside, []int{1, 2, 3, 4}, pool.WithChunkSize(2))
			})
			if err != nil || len(res) != 4 {
				t.Fatal(res, err)
			}
			call := col.wait("pool.Map otel.inside")
			col.waitCount("gofutures.task otel.inside", 2)
			chunks := map[string]bool{} // span id of each chunk's span
			for _, s := range col.all() {
				if s.Name() != "gofutures.task otel.inside" {
					continue
				}
				if s.Parent().SpanID() != call.SpanContext().SpanID() {
					t.Errorf("chunk span's parent %s, want the call's %s", s.Parent().SpanID(), call.SpanContext().SpanID())
				}
				wantAttr(t, s, "gofutures.chunk.size", "2")
				chunks[parentOf(s.SpanContext())] = true
			}
			if len(chunks) != 2 {
				t.Fatalf("%d chunk spans, want 2", len(chunks))
			}
			for i, r := range res {
				if !chunks[r] {
					t.Errorf("item %d ran under %s, not a chunk's span", i, r)
				}
			}
		})
	}
}

// TestOutcomes checks how each way a task ends is recorded, in this process
// and in a helper.
func TestOutcomes(t *testing.T) {
	for _, x := range executors[:2] {
		t.Run(x.kind, func(t *testing.T) {
			col, tp := newTP(t, sdktrace.AlwaysSample())
			traced := otelfutures.Wrap(x.make(t), otelfutures.WithTracerProvider(tp), otelfutures.WithPropagators(prop))
			ctx := context.Background()

			f, err := executor.Call(ctx, traced, failing, -1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Result(ctx); err == nil {
				t.Fatal("no error")
			}
			s := col.wait("gofutures.task otel.fail")
			wantAttr(t, s, "gofutures.task.outcome", "error")
			wantAttr(t, s, "error.type", "*otelfutures_test.badInput") // the helper's type, from a helper
			if s.Status().Code != codes.Error || s.Status().Description != "bad input -1" {
				t.Errorf("status %+v", s.Status())
			}
			if _, ok := hasEvent(s, "exception"); !ok {
				t.Errorf("error not recorded: %v", s.Events())
			}

			f, err = executor.Call(ctx, traced, panicking, 1)
			if err != nil {
				t.Fatal(err)
			}
			var pe *executor.PanicError
			if _, err := f.Result(ctx); !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *PanicError", err)
			}
			s = col.wait("gofutures.task otel.panic")
			wantAttr(t, s, "gofutures.task.outcome", "panic")
			wantAttr(t, s, "error.type", "panic")
			ev, _ := hasEvent(s, "exception")
			stack := ""
			for _, a := range ev.Attributes {
				if a.Key == "exception.stacktrace" {
					stack = a.Value.AsString()
				}
			}
			if !strings.Contains(stack, "goroutine") {
				t.Errorf("no panic stack in the exception event: %v", ev.Attributes)
			}

			// A deadline that passes while the task waits for it (or, on a
			// busy machine, while it is still queued: a timeout too).
			tctx, cancelT := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancelT()
			if f, err := executor.Call(tctx, traced, waiting, 1); err == nil {
				_, _ = f.Result(ctx)
			}
			s = col.wait("gofutures.task otel.wait")
			wantAttr(t, s, "error.type", "timeout")
			wantAttr(t, s, "gofutures.task.outcome", "timeout")

			// A ctx cancelled while the task waits for it (or is queued).
			cctx, cancel := context.WithCancel(ctx)
			f, err = executor.Call(cctx, traced, failing, 5)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.Result(ctx)
			f2, err := executor.Call(cctx, traced, waiting, 5) // ends by the cancel, queued or running
			cancel()
			if err == nil {
				_, _ = f2.Result(ctx)
			}
			s = col.waitFor(func(s sdktrace.ReadOnlySpan) bool {
				return s.Name() == "gofutures.task otel.fail" && s.Status().Code == codes.Unset
			})
			wantAttr(t, s, "gofutures.task.outcome", "ok")
			s = col.wait("gofutures.task otel.wait", "gofutures.task.outcome", "cancelled")
			wantAttr(t, s, "error.type", "cancelled")
		})
	}
}

// TestCancelStopReject: a task cancelled with Future.Cancel before it
// started, one failed by Stop while queued, a running one whose ctx Stop
// cancelled, and one refused after Stop.
func TestCancelStopReject(t *testing.T) {
	col, tp := newTP(t, sdktrace.AlwaysSample())
	ex, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	traced := otelfutures.Wrap(ex, otelfutures.WithTracerProvider(tp), otelfutures.WithExecutorName("web"))
	ctx := context.Background()
	started := make(chan struct{})
	blocker, err := executor.Submit(ctx, traced, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started // the only worker is busy: what follows waits in the queue
	f, err := executor.Call(ctx, traced, inside, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Cancel() {
		t.Fatal("Cancel of a queued task = false")
	}
	queued, err := executor.Call(ctx, traced, failing, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := traced.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := executor.Call(ctx, traced, panicking, 1); !errors.Is(err, executor.ErrShutdown) {
		t.Fatalf("after Stop: %v", err)
	}
	_, _ = blocker.Result(ctx)
	_, _ = queued.Result(ctx)

	s := col.wait("gofutures.task otel.inside")
	wantAttr(t, s, "gofutures.task.outcome", "cancelled")
	wantAttr(t, s, "error.type", "cancelled")
	wantAttr(t, s, "gofutures.executor.name", "web")
	if _, ok := hasEvent(s, "gofutures.task.start"); ok {
		t.Error("a cancelled task has a start event")
	}
	if _, ok := attr(s, "gofutures.task.run"); ok {
		t.Error("a cancelled task has a run time")
	}
	wantAttr(t, col.wait("gofutures.task otel.fail"), "gofutures.task.outcome", "stopped")
	s = col.wait("gofutures.task otel.panic")
	wantAttr(t, s, "gofutures.task.outcome", "rejected")
	if s.Status().Code != codes.Error {
		t.Errorf("rejected: status %v", s.Status())
	}
	s = col.wait("gofutures.task") // the closure, whose ctx Stop cancelled
	wantAttr(t, s, "gofutures.task.outcome", "cancelled")
}

// TestChunkItems: a chunk with a failed item records how many failed.
func TestChunkItems(t *testing.T) {
	col, tp := newTP(t, sdktrace.AlwaysSample())
	traced := otelfutures.Wrap(executors[1].make(t), otelfutures.WithTracerProvider(tp))
	ctx := context.Background()
	f, err := executor.CallChunk(ctx, traced, failing, []int{1, -1, 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Result(ctx)
	if err != nil || c.Err(1) == nil {
		t.Fatal(c, err)
	}
	s := col.wait("gofutures.task otel.fail")
	wantAttr(t, s, "gofutures.chunk.size", "3")
	wantAttr(t, s, "gofutures.chunk.failed", "1")
	wantAttr(t, s, "gofutures.task.outcome", "error")
}

// TestSamplerDropsAll: with a sampler that records nothing, no span is
// exported, and the trace context still reaches the helper (not sampled),
// so the helper's spans join the caller's trace.
func TestSamplerDropsAll(t *testing.T) {
	for _, x := range executors[:2] {
		t.Run(x.kind, func(t *testing.T) {
			col, tp := newTP(t, sdktrace.NeverSample())
			traced := otelfutures.Wrap(x.make(t), otelfutures.WithTracerProvider(tp), otelfutures.WithPropagators(prop))
			ctx, root := tp.Tracer("test").Start(context.Background(), "request")
			defer root.End()
			f, err := executor.Call(ctx, traced, inside, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Result(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tid, sid, sampled := split(got)
			if tid != root.SpanContext().TraceID().String() || sid == root.SpanContext().SpanID().String() || sampled != "false" {
				t.Errorf("parent in the task %s; want trace %s, a task span, not sampled", got, root.SpanContext().TraceID())
			}
			if n := len(col.all()); n != 0 {
				t.Errorf("%d spans recorded", n)
			}
		})
	}
}

func split(p string) (tid, sid, sampled string) {
	parts := strings.SplitN(p, "/", 3)
	return parts[0], parts[1], parts[2]
}

// TestNotInstalled: an executor that is not wrapped sends no trace context:
// the task's span in the helper has no parent. And a wrapped executor whose
// propagator writes nothing (the global default) sends none either.
func TestNotInstalled(t *testing.T) {
	_, tp := newTP(t, sdktrace.AlwaysSample())
	ex := executors[1].make(t)
	ctx, root := tp.Tracer("test").Start(context.Background(), "request")
	defer root.End()
	for _, e := range []executor.Executor{ex, otelfutures.Wrap(ex, otelfutures.WithTracerProvider(tp))} {
		f, err := executor.Call(ctx, e, inside, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := parentOf(trace.SpanContext{}); got != want {
			t.Errorf("%T: the helper's span has the parent %s, want none", e, got)
		}
	}
}

// errFlaky is a temporary error: the default retry policy retries it.
type errFlaky struct{}

func (errFlaky) Error() string   { return "flaky" }
func (errFlaky) Temporary() bool { return true }

// TestRetryAttempts: a task retried twice is three spans, attempts 1, 2
// and 3; the first two failed, the last succeeded.
func TestRetryAttempts(t *testing.T) {
	col, tp := newTP(t, sdktrace.AlwaysSample())
	ex, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Shutdown(context.Background()) })
	traced := otelfutures.Wrap(ex, otelfutures.WithTracerProvider(tp))
	runs := 0
	f, err := executor.Submit(context.Background(), traced, func(context.Context) (int, error) {
		if runs++; runs < 3 {
			return 0, errFlaky{}
		}
		return runs, nil
	}, executor.NewRetry(3, executor.RetryBackoff(time.Millisecond, time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(context.Background()); err != nil || v != 3 {
		t.Fatalf("result %d, %v; want 3 after three attempts", v, err)
	}
	for n := 1; n <= 3; n++ {
		s := col.waitFor(func(s sdktrace.ReadOnlySpan) bool {
			v, ok := attr(s, "gofutures.task.attempt")
			return ok && v.AsInt64() == int64(n)
		})
		want := "error"
		if n == 3 {
			want = "ok"
		}
		wantAttr(t, s, "gofutures.task.outcome", want)
	}
}
