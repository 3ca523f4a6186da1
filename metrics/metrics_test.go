package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

const (
	submittedHelp = "# HELP gofutures_executor_tasks_submitted_total Tasks accepted by the executor.\n# TYPE gofutures_executor_tasks_submitted_total counter\n"
	finishedHelp  = "# HELP gofutures_executor_tasks_finished_total Tasks ended, by outcome (ok, error, panic, cancelled, timeout, worker_died, stopped).\n# TYPE gofutures_executor_tasks_finished_total counter\n"
	queuedHelp    = "# HELP gofutures_executor_tasks_queued Tasks accepted that have neither started nor ended (queue depth).\n# TYPE gofutures_executor_tasks_queued gauge\n"
	inFlightHelp  = "# HELP gofutures_executor_tasks_in_flight Tasks running now.\n# TYPE gofutures_executor_tasks_in_flight gauge\n"
	workersHelp   = "# HELP gofutures_executor_workers Workers (goroutines or helper processes) alive.\n# TYPE gofutures_executor_workers gauge\n"
	startsHelp    = "# HELP gofutures_executor_worker_starts_total Workers started; for process pools, helper processes started.\n# TYPE gofutures_executor_worker_starts_total counter\n"
	stopsHelp     = "# HELP gofutures_executor_worker_stops_total Workers stopped, by reason (idle, shutdown, init_error, max_tasks, crashed, timeout, killed).\n# TYPE gofutures_executor_worker_stops_total counter\n"
)

// counts is the expected state of one executor's counters and gauges.
type counts struct {
	submitted, queued, inFlight, workers, starts int
	finished                                     map[string]int // by outcome; missing ones are 0
	stops                                        map[string]int // by reason; missing ones are 0
}

// exposition renders c as the text format for executor name.
func (c counts) exposition(name string) string {
	var b strings.Builder
	line := func(metric, labels string, v int) {
		fmt.Fprintf(&b, "%s{executor=%q%s} %d\n", metric, name, labels, v)
	}
	b.WriteString(submittedHelp)
	line("gofutures_executor_tasks_submitted_total", "", c.submitted)
	b.WriteString(finishedHelp)
	for _, o := range executor.Outcomes() {
		line("gofutures_executor_tasks_finished_total", fmt.Sprintf(",outcome=%q", o), c.finished[o.String()])
	}
	b.WriteString(queuedHelp)
	line("gofutures_executor_tasks_queued", "", c.queued)
	b.WriteString(inFlightHelp)
	line("gofutures_executor_tasks_in_flight", "", c.inFlight)
	b.WriteString(workersHelp)
	line("gofutures_executor_workers", "", c.workers)
	b.WriteString(startsHelp)
	line("gofutures_executor_worker_starts_total", "", c.starts)
	b.WriteString(stopsHelp)
	reasons := []string{"idle", "shutdown", "init_error", "max_tasks", "crashed", "timeout", "killed"}
	for r := range c.stops {
		if !strings.Contains(strings.Join(reasons, " "), r) {
			reasons = append(reasons, r)
		}
	}
	for _, r := range reasons {
		line("gofutures_executor_worker_stops_total", fmt.Sprintf(",reason=%q", r), c.stops[r])
	}
	return b.String()
}

var counterNames = []string{
	"gofutures_executor_tasks_submitted_total", "gofutures_executor_tasks_finished_total",
	"gofutures_executor_tasks_queued", "gofutures_executor_tasks_in_flight", "gofutures_executor_workers",
	"gofutures_executor_worker_starts_total", "gofutures_executor_worker_stops_total",
}

func compare(t *testing.T, m *metrics.Metrics, want string) {
	t.Helper()
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), counterNames...); err != nil {
		t.Error(err)
	}
}

// histCount returns the sample count of histogram name for executor exec.
func histCount(t *testing.T, g prometheus.Gatherer, name, exec string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if hasLabel(mt, "executor", exec) {
				return mt.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// newMetrics returns Metrics that time every task, on a new registry.
func newMetrics(t *testing.T, opts ...metrics.Option) (*prometheus.Registry, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, append([]metrics.Option{metrics.WithTimingSample(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return reg, m
}

func newPool(t *testing.T, m *metrics.Metrics, name string, workers int) *executor.GoPool {
	t.Helper()
	p, err := executor.NewGoPool(executor.WithName(name), executor.WithWorkers(workers), executor.WithHooks(m.Hooks(name)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func submit[R any](t *testing.T, p executor.Executor, fn func(context.Context) (R, error)) *future.Future[R] {
	t.Helper()
	f, err := executor.Submit(context.Background(), p, fn)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGoPoolOutcomes drives a real GoPool through every outcome it can
// produce and checks the counters and gauges while work is queued and
// running, and after Shutdown.
func TestGoPoolOutcomes(t *testing.T) {
	ctx := context.Background()
	reg, m := newMetrics(t)
	p := newPool(t, m, "x", 2)

	gate := make(chan struct{})
	running := make(chan struct{})
	blocker := func(context.Context) (int, error) {
		running <- struct{}{}
		<-gate
		return 1, nil
	}
	var fs []future.Awaitable
	fs = append(fs, submit(t, p, blocker), submit(t, p, blocker))
	<-running
	<-running
	// Both workers are busy: everything below waits in the queue.
	errBoom := errors.New("boom")
	fs = append(fs,
		submit(t, p, func(context.Context) (int, error) { return 2, nil }),
		submit(t, p, func(context.Context) (int, error) { return 0, errBoom }),
		submit(t, p, func(context.Context) (int, error) { panic("oops") }),
		submit(t, p, func(context.Context) (int, error) {
			return 0, fmt.Errorf("call: %w", context.DeadlineExceeded)
		}),
	)
	victim := submit(t, p, func(context.Context) (int, error) { return 3, nil })
	if !victim.Cancel() {
		t.Fatal("Cancel of a queued future returned false")
	}
	compare(t, m, counts{submitted: 7, queued: 5, inFlight: 2, workers: 2, starts: 2}.exposition("x"))

	close(gate)
	for f, err := range future.AsCompleted(ctx, fs) {
		if err != nil {
			t.Fatal(err)
		}
		_ = f.Err(ctx)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	compare(t, m, counts{
		submitted: 7, starts: 2,
		finished: map[string]int{"ok": 3, "error": 1, "panic": 1, "timeout": 1, "cancelled": 1},
		stops:    map[string]int{"shutdown": 2},
	}.exposition("x"))
	if got := histCount(t, reg, "gofutures_executor_task_queue_wait_seconds", "x"); got != 6 {
		t.Errorf("queue wait observations = %d, want 6 (the tasks that ran)", got)
	}
	if got := histCount(t, reg, "gofutures_executor_task_run_seconds", "x"); got != 6 {
		t.Errorf("run time observations = %d, want 6 (the tasks that ran)", got)
	}
}

// TestOwnersAndPushShareASeries: a GoPool counts for itself (Hooks.Own)
// while another executor reports every event through the same name's hooks;
// the series adds them up, keeps the GoPool's totals once it has shut down
// and released, and goes on adding a second GoPool.
func TestOwnersAndPushShareASeries(t *testing.T) {
	ctx := context.Background()
	_, m := newMetrics(t)
	h := m.Hooks("mix")
	// The push executor: three tasks accepted, two started, one finished.
	for range 3 {
		h.OnSubmitted()
	}
	h.OnStarted(-1)
	h.OnStarted(time.Millisecond)
	h.OnFinished(executor.Finish{Outcome: executor.OutcomeOK, Ran: true, Run: -1})

	p := newPool(t, m, "mix", 1)
	gate, release := make(chan struct{}), make(chan struct{})
	first := submit(t, p, func(context.Context) (int, error) {
		gate <- struct{}{}
		<-release
		return 1, nil
	})
	<-gate
	second := submit(t, p, func(context.Context) (int, error) { return 0, errors.New("boom") })
	compare(t, m, counts{
		submitted: 5, queued: 2, inFlight: 2, workers: 1, starts: 1,
		finished: map[string]int{"ok": 1},
	}.exposition("mix"))

	close(release)
	_ = first.Err(ctx)
	_ = second.Err(ctx)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want := counts{
		submitted: 5, queued: 1, inFlight: 1, starts: 1,
		finished: map[string]int{"ok": 2, "error": 1},
		stops:    map[string]int{"shutdown": 1},
	}
	compare(t, m, want.exposition("mix"))

	p2 := newPool(t, m, "mix", 1)
	if _, err := submit(t, p2, func(context.Context) (int, error) { return 1, nil }).Result(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want.submitted, want.starts = 6, 2
	want.finished["ok"], want.stops["shutdown"] = 3, 2
	compare(t, m, want.exposition("mix"))
}

// TestGoPoolStop checks the outcome of work failed by a hard Stop.
func TestGoPoolStop(t *testing.T) {
	ctx := context.Background()
	_, m := newMetrics(t)
	p := newPool(t, m, "s", 1)
	running := make(chan struct{})
	first := submit(t, p, func(ctx context.Context) (int, error) {
		close(running)
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})
	<-running
	queued := []*future.Future[int]{
		submit(t, p, func(context.Context) (int, error) { return 1, nil }),
		submit(t, p, func(context.Context) (int, error) { return 2, nil }),
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(queued, first) {
		if err := f.Err(ctx); !errors.Is(err, executor.ErrStopped) {
			t.Fatalf("err = %v, want ErrStopped", err)
		}
	}
	compare(t, m, counts{
		submitted: 3, starts: 1,
		finished: map[string]int{"stopped": 3},
		stops:    map[string]int{"shutdown": 1},
	}.exposition("s"))
}

// TestHooksProcessEvents calls the hooks as a process pool does: helpers
// that crash, time out or are killed, and tasks whose worker died.
func TestHooksProcessEvents(t *testing.T) {
	_, m := newMetrics(t)
	h := m.Hooks("proc")
	for range 4 {
		h.OnWorkerStarted()
	}
	h.OnSubmitted()
	h.OnStarted(time.Millisecond)
	h.OnFinished(executor.Finish{Outcome: executor.OutcomeWorkerDied, Ran: true, Run: time.Second})
	h.OnWorkerStopped(executor.ExitCrashed)
	h.OnWorkerStopped(executor.ExitTimeout)
	h.OnWorkerStopped(executor.ExitMaxTasks)
	h.OnSubmitted()
	h.OnSubmitted()
	h.OnStarted(0)
	compare(t, m, counts{
		submitted: 3, queued: 1, inFlight: 1, workers: 1, starts: 4,
		finished: map[string]int{"worker_died": 1},
		stops:    map[string]int{"crashed": 1, "timeout": 1, "max_tasks": 1},
	}.exposition("proc"))

	// Values this package does not know still count, under their own label.
	h.OnWorkerStopped("oom")
	h.OnFinished(executor.Finish{Outcome: executor.Outcome(200)})
	want := counts{
		submitted: 3, inFlight: 1, starts: 4,
		finished: map[string]int{"worker_died": 1},
		stops:    map[string]int{"crashed": 1, "timeout": 1, "max_tasks": 1, "oom": 1},
	}.exposition("proc")
	want = strings.Replace(want, "# HELP gofutures_executor_tasks_queued",
		`gofutures_executor_tasks_finished_total{executor="proc",outcome="unknown"} 1`+"\n# HELP gofutures_executor_tasks_queued", 1)
	compare(t, m, want)
}

// TestSharedRegistry runs two executors on one registry and checks that
// their series are separate, and that the result passes the linter.
func TestSharedRegistry(t *testing.T) {
	ctx := context.Background()
	reg, m := newMetrics(t)
	a, b := newPool(t, m, "a", 2), newPool(t, m, "b", 1)
	var fs []*future.Future[int]
	for i := range 5 {
		fs = append(fs, submit(t, a, func(context.Context) (int, error) { return i, nil }))
	}
	fs = append(fs, submit(t, b, func(context.Context) (int, error) { return 0, errors.New("x") }))
	for _, f := range fs {
		_ = f.Err(ctx)
	}
	for _, p := range []*executor.GoPool{a, b} {
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(mustOne(t, m, "a", "gofutures_executor_tasks_submitted_total")); got != 5 {
		t.Errorf("a submitted = %v, want 5", got)
	}
	if got := histCount(t, reg, "gofutures_executor_task_run_seconds", "b"); got != 1 {
		t.Errorf("b run observations = %d, want 1", got)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(m, "gofutures_executor_tasks_finished_total"); n != 2*len(executor.Outcomes()) {
		t.Errorf("finished series = %d, want %d", n, 2*len(executor.Outcomes()))
	}
}

// mustOne returns the one sample of metric name for executor exec, as a
// Collector for testutil.ToFloat64.
func mustOne(t *testing.T, m *metrics.Metrics, exec, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric)
		go func() { m.Collect(all); close(all) }()
		for mt := range all {
			var d dto.Metric
			if err := mt.Write(&d); err != nil {
				t.Error(err)
			}
			if strings.Contains(mt.Desc().String(), `"`+name+`"`) && hasLabel(&d, "executor", exec) {
				ch <- mt
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestNewErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		reg  prometheus.Registerer
		opts []metrics.Option
		is   func(error) bool
	}{
		{"nil registerer", nil, nil, nil},
		{"registered twice", reg, nil, func(err error) bool {
			var are prometheus.AlreadyRegisteredError
			return errors.As(err, &are)
		}},
		{"unsorted buckets", prometheus.NewRegistry(), []metrics.Option{metrics.WithRunBuckets([]float64{2, 1})}, nil},
		{"empty buckets", prometheus.NewRegistry(), []metrics.Option{metrics.WithQueueWaitBuckets(nil)}, nil},
		{"label clash", prometheus.NewRegistry(), []metrics.Option{metrics.WithConstLabels(prometheus.Labels{"outcome": "x"})}, nil},
		{"bad namespace", prometheus.NewRegistry(), []metrics.Option{metrics.WithNamespace("bad-name")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := metrics.New(tt.reg, tt.opts...)
			if err == nil || m != nil {
				t.Fatalf("New = %v, %v; want an error", m, err)
			}
			if tt.is != nil && !tt.is(err) {
				t.Fatalf("New error %v does not match", err)
			}
		})
	}
	// A second namespace on the same registry is fine.
	if _, err := metrics.New(reg, metrics.WithNamespace("app"), metrics.WithConstLabels(prometheus.Labels{"service": "s"})); err != nil {
		t.Fatal(err)
	}
}

func TestForget(t *testing.T) {
	reg, m := newMetrics(t)
	m.Hooks("gone").OnStarted(time.Millisecond)
	m.Hooks("kept").OnSubmitted()
	m.Forget("gone")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if hasLabel(mt, "executor", "gone") {
				t.Errorf("%s still has executor=gone", mf.GetName())
			}
		}
	}
	if n := testutil.CollectAndCount(m, "gofutures_executor_tasks_submitted_total"); n != 1 {
		t.Errorf("submitted series = %d, want 1 (kept)", n)
	}
}

// TestHooksNoAlloc checks that the per-task hooks allocate nothing.
func TestHooksNoAlloc(t *testing.T) {
	_, m := newMetrics(t)
	h := m.Hooks("x")
	allocs := testing.AllocsPerRun(1000, func() {
		h.OnSubmitted()
		h.OnStarted(time.Microsecond)
		h.OnFinished(executor.Finish{Outcome: executor.OutcomeError, Ran: true, Run: time.Millisecond})
	})
	if allocs != 0 {
		t.Errorf("hooks allocate %v times per task, want 0", allocs)
	}
}

// TestConcurrentScrape runs many tasks while scraping, for the race
// detector, and checks that the counts add up at the end and that the gauges
// never go wild meanwhile.
func TestConcurrentScrape(t *testing.T) {
	ctx := context.Background()
	reg, m := newMetrics(t)
	p := newPool(t, m, "c", 4)
	const n = 2000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Error(err)
				return
			}
			for _, mf := range mfs {
				if mf.GetType() != dto.MetricType_GAUGE {
					continue
				}
				for _, mt := range mf.GetMetric() {
					if v := mt.GetGauge().GetValue(); v < 0 || v > n {
						t.Errorf("%s = %v", mf.GetName(), v)
					}
				}
			}
		}
	})
	fs := make([]*future.Future[int], n)
	for i := range fs {
		fs[i] = submit(t, p, func(context.Context) (int, error) { return i, nil })
	}
	for _, f := range fs {
		_ = f.Err(ctx)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if got := histCount(t, reg, "gofutures_executor_task_run_seconds", "c"); got != n {
		t.Errorf("run observations = %d, want %d", got, n)
	}
	if got := testutil.ToFloat64(mustOne(t, m, "c", "gofutures_executor_tasks_queued")); got != 0 {
		t.Errorf("queued = %v, want 0", got)
	}
}

// TestTimingSample checks that with the default options a fast burst of
// tasks is timed only in part, down to one in 256, while the counters stay
// exact.
// TestTimingSample runs in a synctest bubble: its clock stands still while
// the test schedules, so the arrivals are as fast as can be, however slow
// the machine (or -race) makes scheduling, and GoPool samples every time.
func TestTimingSample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Hooks("x").TimeEvery; got != 256 {
			t.Fatalf("TimeEvery = %d, want 256", got)
		}
		p := newPool(t, m, "x", 2)
		// Bare tasks scheduled while the workers wait at a gate, at no
		// time apart: GoPool samples below 5µs per task.
		const n = 2000
		gate := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(n)
		tasks := make([]*bareTask, n)
		for i := range tasks {
			tasks[i] = &bareTask{gate: gate, wg: &wg}
		}
		for _, task := range tasks {
			if err := p.Schedule(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		close(gate)
		wg.Wait()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		compare(t, m, counts{
			submitted: n, starts: 2,
			finished: map[string]int{"ok": n},
			stops:    map[string]int{"shutdown": 2},
		}.exposition("x"))
		for _, h := range []string{"gofutures_executor_task_queue_wait_seconds", "gofutures_executor_task_run_seconds"} {
			if got := histCount(t, reg, h, "x"); got < n/256 || got > n/2 {
				t.Errorf("%s count = %d, want between %d and %d", h, got, n/256, n/2)
			}
		}
	})
}

// bareTask is the least a driver.Task can be: it waits at gate and
// reports to wg.
type bareTask struct {
	gate chan struct{}
	wg   *sync.WaitGroup
}

func (b *bareTask) Start() bool { return true }
func (b *bareTask) Run(context.Context) error {
	<-b.gate
	b.wg.Done()
	return nil
}
func (b *bareTask) Fail(error) bool       { b.wg.Done(); return true }
func (b *bareTask) Cancel() bool          { return false }
func (b *bareTask) Remote() driver.Remote { return nil }

// TestNotMeasured checks that negative durations count the task but not
// the histograms.
func TestNotMeasured(t *testing.T) {
	reg, m := newMetrics(t)
	h := m.Hooks("x")
	h.OnSubmitted()
	h.OnStarted(-1)
	compare(t, m, counts{submitted: 1, inFlight: 1}.exposition("x"))
	h.OnFinished(executor.Finish{Outcome: executor.OutcomeOK, Ran: true, Run: -1})
	compare(t, m, counts{submitted: 1, finished: map[string]int{"ok": 1}}.exposition("x"))
	for _, name := range []string{"gofutures_executor_task_queue_wait_seconds", "gofutures_executor_task_run_seconds"} {
		if got := histCount(t, reg, name, "x"); got != 0 {
			t.Errorf("%s count = %d, want 0", name, got)
		}
	}
}
