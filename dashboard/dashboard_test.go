package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/gofutures/gofutures/cluster/clusterstats"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/metrics"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var _ http.Handler = (*dashboard.Dashboard)(nil)

func newDashboard(t *testing.T, opts ...dashboard.Option) *dashboard.Dashboard {
	t.Helper()
	d, err := dashboard.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func shutdown(t *testing.T, ex executor.Executor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ex.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// waitFor polls cond until it holds, and fails the test after a budget
// that no healthy run comes near.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation: cond decides
	}
}

// gated submits n tasks to ex that wait for gate, and returns their
// futures once each has started.
func gated(t *testing.T, ex executor.Executor, n int, gate <-chan struct{}) []*future.Future[int] {
	t.Helper()
	started := make(chan struct{}, n)
	var fs []*future.Future[int]
	for range n {
		f, err := executor.Submit(context.Background(), ex, func(context.Context) (int, error) {
			started <- struct{}{}
			<-gate
			return 0, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for range n {
		<-started
	}
	return fs
}

func TestGoPoolCounts(t *testing.T) {
	for _, name := range []string{"own", "joined with metrics"} {
		t.Run(name, func(t *testing.T) {
			d := newDashboard(t)
			reg := prometheus.NewRegistry()
			h := d.Hooks("job")
			if name != "own" {
				m, err := metrics.New(reg)
				if err != nil {
					t.Fatal(err)
				}
				h = executor.JoinHooks(d.Hooks("job"), m.Hooks("job"))
			}
			ex, err := executor.NewGoPool(executor.WithWorkers(2), executor.WithHooks(h))
			if err != nil {
				t.Fatal(err)
			}
			defer shutdown(t, ex)

			gate := make(chan struct{})
			blockers := gated(t, ex, 2, gate)
			var fs []*future.Future[int]
			for i := range 6 {
				f, err := executor.Submit(context.Background(), ex, func(context.Context) (int, error) {
					switch i {
					case 1, 2:
						return 0, fmt.Errorf("item %d: upstream said no", i)
					case 3:
						panic("bad input")
					}
					return i, nil
				})
				if err != nil {
					t.Fatal(err)
				}
				fs = append(fs, f)
			}
			st := get(t, d).Executors[0]
			if st.Submitted != 8 || st.Queued != 6 || st.Running != 2 || st.Done != 0 || uint64(ex.Stats().Queued) != st.Queued {
				t.Errorf("while blocked: %+v (pool stats %+v)", st, ex.Stats())
			}
			close(gate)
			for _, f := range append(blockers, fs...) {
				_, _ = f.Result(context.Background()) // the hooks record the failures
			}
			waitFor(t, "every task counted", func() bool { return get(t, d).Executors[0].Done == 8 })
			st = get(t, d).Executors[0]
			if st.Submitted != 8 || st.Queued != 0 || st.Running != 0 || st.OK != 5 || st.Failed != 3 ||
				st.Outcomes["error"] != 2 || st.Outcomes["panic"] != 1 {
				t.Errorf("after: %+v", st)
			}
			// The hooks record failures as the tasks end, in whatever
			// order the two workers end them.
			seen := map[string]string{}
			for _, f := range st.Failures {
				seen[f.Error] = f.Outcome
			}
			if len(st.Failures) != 3 || seen["executor: task panicked: bad input"] != "panic" ||
				seen["item 1: upstream said no"] != "error" || seen["item 2: upstream said no"] != "error" {
				t.Errorf("failures: %+v", st.Failures)
			}
			if st.Run.Count != 8 { // tasks 5µs or more apart are all timed
				t.Logf("run-time samples: %d of 8", st.Run.Count)
			}
			if name != "own" {
				if got := testutil.ToFloat64(mustCounter(t, reg, "gofutures_executor_tasks_submitted_total")); got != 8 {
					t.Errorf("metrics saw %v tasks submitted, want 8", got)
				}
			}
		})
	}
}

func mustCounter(t *testing.T, g prometheus.Gatherer, name string) prometheus.Collector {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name})
			c.Add(mf.GetMetric()[0].GetCounter().GetValue())
			return c
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

func TestProcessHelpersAndFailurePid(t *testing.T) {
	d := newDashboard(t)
	hp, err := process.New(reg, process.WithWorkers(2), process.WithHooks(d.Hooks("helpers")))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, hp)
	d.Helpers("helpers", hp.Pids)

	f, err := executor.Call(context.Background(), hp, double, 21)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(context.Background()); v != 42 || err != nil {
		t.Fatalf("double(21) = %v, %v", v, err)
	}
	f, err = executor.Call(context.Background(), hp, crash, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(context.Background())
	var we *process.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("crash: %v, want a *process.WorkerError", err)
	}
	// The hooks recorded the failure, with the helper's pid.
	waitFor(t, "the helper's replacement", func() bool {
		st := get(t, d).Executors[0]
		return st.Restarts == 1 && len(st.Helpers) == 2 && st.Done == 2
	})
	st := get(t, d).Executors[0]
	if st.Failed != 1 || st.Outcomes["worker_died"] != 1 || len(st.Failures) != 1 || st.Failures[0].Pid != we.Pid ||
		!strings.Contains(st.Failures[0].Error, fmt.Sprint(we.Pid)) {
		t.Errorf("%+v, want the failure of pid %d", st, we.Pid)
	}
	for _, h := range st.Helpers {
		if h.Pid == we.Pid {
			t.Errorf("dead helper %d still listed: %+v", we.Pid, st.Helpers)
		}
	}
}

func TestProgress(t *testing.T) {
	d := newDashboard(t, dashboard.WithFinishedCalls(2))
	ex, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Close()
		if err := p.Join(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	inc := executor.Fn(func(_ context.Context, x int) (int, error) { return x + 1, nil })
	for i := range 3 {
		items := make([]int, 100*(i+1))
		if _, err := pool.Map(context.Background(), p, inc, items, pool.WithChunkSize(7),
			pool.WithProgress(d.Progress(fmt.Sprint("map", i)))); err != nil {
			t.Fatal(err)
		}
	}
	leftEarly := d.Progress("left early")
	leftEarly(5, 10)
	st := get(t, d)
	if len(st.Calls) != 3 {
		t.Fatalf("calls: %+v, want the running one and the 2 last finished", st.Calls)
	}
	if c := st.Calls[0]; c.Name != "left early" || c.Done != 5 || c.Total != 10 || c.Finished {
		t.Errorf("running call: %+v", c)
	}
	if c := st.Calls[1]; c.Name != "map2" || c.Done != 300 || c.Total != 300 || !c.Finished || c.ETA != 0 {
		t.Errorf("last finished call: %+v", c)
	}
}

func TestCluster(t *testing.T) {
	d := newDashboard(t)
	calls := 0
	d.Cluster("render", func(ctx context.Context) (clusterstats.Stats, error) {
		calls++
		return clusterstats.Stats{Workers: []clusterstats.Worker{{Name: "w1", ID: "abc"}}, StreamDepth: 7,
			Redeliveries: 2}, nil
	})
	d.Cluster("down", func(ctx context.Context) (clusterstats.Stats, error) {
		return clusterstats.Stats{Redeliveries: 1}, errors.New("no connection")
	})
	st := get(t, d)
	if len(st.Clusters) != 2 {
		t.Fatalf("clusters: %+v", st.Clusters)
	}
	if c := st.Clusters[0]; c.Name != "down" || c.Redeliveries != 1 || !strings.Contains(c.Error, "no connection") {
		t.Errorf("failing cluster: %+v", c)
	}
	if c := st.Clusters[1]; c.Name != "render" || len(c.Workers) != 1 || c.StreamDepth != 7 || c.Redeliveries != 2 {
		t.Errorf("cluster: %+v", c)
	}
	get(t, d) // within the refresh interval: the answer is shared
	if calls != 1 {
		t.Errorf("stats called %d times for two pages within an interval, want 1", calls)
	}
	d.Cluster("down", nil)
	if st := get(t, d); len(st.Clusters) != 1 {
		t.Errorf("after removing one: %+v", st.Clusters)
	}
}

func TestHistory(t *testing.T) {
	d := newDashboard(t, dashboard.WithRefresh(10*time.Millisecond), dashboard.WithHistory(50*time.Millisecond))
	ex, err := executor.NewGoPool(executor.WithWorkers(1), executor.WithHooks(d.Hooks("job")))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, ex)
	ran := 0
	waitFor(t, "a full history with a rate", func() bool {
		f, err := executor.Submit(context.Background(), ex, func(context.Context) (int, error) { return 0, nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Result(context.Background()); err != nil {
			t.Fatal(err)
		}
		ran++
		h := get(t, d).Executors[0].History
		return len(h.T) == 6 && h.Rate[5] != nil && *h.Rate[5] > 0
	})
	if h := get(t, d).Executors[0].History; len(h.T) > 6 {
		t.Errorf("history of %d points, want at most 6", len(h.T))
	}
	d.Forget("job")
	if st := get(t, d); len(st.Executors) != 0 {
		t.Errorf("after Forget: %+v", st.Executors)
	}
}

func TestServeHTTP(t *testing.T) {
	d := newDashboard(t, dashboard.WithTitle("batch <1>"))
	mux := http.NewServeMux()
	mux.Handle("/debug/gofutures/", d)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		code         int
		has          string
	}{
		{"GET", "/debug/gofutures/", 200, "<title>batch &lt;1&gt; · dashboard</title>"},
		{"GET", "/debug/gofutures", 200, `src="assets/app.js"`}, // ServeMux redirects
		{"GET", "/debug/gofutures/index.html", 200, "uPlot.iife.min.js"},
		{"GET", "/debug/gofutures/api/state", 200, `"title":"batch \u003c1\u003e"`},
		{"GET", "/debug/gofutures/assets/uPlot.iife.min.js", 200, "uPlot"},
		{"GET", "/debug/gofutures/assets/uPlot.LICENSE", 200, "MIT"},
		{"GET", "/debug/gofutures/assets/style.css", 200, ".card"},
		{"GET", "/debug/gofutures/assets/nope.js", 404, ""},
		{"GET", "/debug/gofutures/assets/../dashboard.go", 404, ""},
		{"GET", "/debug/gofutures/other", 404, ""},
		{"POST", "/debug/gofutures/api/state", 405, ""},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.has) {
			t.Errorf("%s %s: %d, want %d with %q; body %.200q", tc.method, tc.path, resp.StatusCode, tc.code, tc.has, body)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []dashboard.Option{
		dashboard.WithRefresh(0), dashboard.WithHistory(time.Millisecond), dashboard.WithFailures(-1), dashboard.WithFinishedCalls(0),
	} {
		if _, err := dashboard.New(o); err == nil {
			t.Errorf("New accepted a bad option")
		}
	}
}
