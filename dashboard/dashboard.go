package dashboard

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gofutures/gofutures/cluster/clusterstats"
	"github.com/gofutures/gofutures/executor"
)

// maxRunningCalls bounds the calls listed as running: a call left early
// (a loop that breaks) never reports its end, and is dropped, oldest
// first, when more than this many have not.
const maxRunningCalls = 100

// Dashboard is a live web page of the executors, pool calls and clusters
// a program registers with it. It is an http.Handler: mount it where you
// like, under a path that ends in a slash (see ServeHTTP). Make one with
// New. Nothing is registered anywhere by itself, and it starts no
// goroutine: it works only when an executor calls the hooks it gave out
// and when a page asks for numbers. All methods are safe for concurrent
// use.
type Dashboard struct {
	cfg config

	mu         sync.Mutex // guards the fields below
	execs      map[string]*execStats
	hist       map[string]*history
	calls      []*call
	callID     uint64
	clusters   map[string]*clusterSource
	lastSample time.Time
}

// New returns a Dashboard. It fails if an option is invalid.
func New(opts ...Option) (*Dashboard, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Dashboard{
		cfg:      cfg,
		execs:    make(map[string]*execStats),
		hist:     make(map[string]*history),
		clusters: make(map[string]*clusterSource),
	}, nil
}

func (d *Dashboard) exec(name string) *execStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.execs[name]
	if !ok {
		s = newExecStats(name, d.cfg.failures)
		d.execs[name] = s
	}
	return s
}

// Hooks returns the hooks that show the work of the executor called name
// on the page; pass them with executor.WithHooks, process.WithHooks or
// cluster.WithHooks. Executors given hooks for the same name add up.
//
// The hooks cost what package metrics' hooks cost, or less: on a GoPool,
// which counts its tasks itself (executor.Hooks.Own) and which the page
// asks for its counts, a task that succeeds costs one function call and a
// comparison; a failed one, or one that was timed (see WithTimingSample),
// an atomic addition or two. Other executors add one atomic addition per
// event. No lock, no allocation, no clock read of their own.
//
// An executor takes one set of hooks. To feed package metrics too, join
// them: executor.JoinHooks(d.Hooks("fetch"), m.Hooks("fetch")); an executor
// that counts for itself still does so, since metrics' hooks can be fed
// that way too.
//
// Hooks takes a lock briefly.
func (d *Dashboard) Hooks(name string) *executor.Hooks {
	return d.exec(name).hooks(d.cfg.timeEvery)
}

// Helpers shows the process ids of the executor called name's helpers,
// read when a page asks: pass the Pids method of a *process.Executor. A nil
// pids removes them. Helpers takes a lock briefly.
func (d *Dashboard) Helpers(name string, pids func() []int) {
	s := d.exec(name)
	s.mu.Lock()
	s.pids = pids
	s.mu.Unlock()
}

// Failed records err as a recent failure of the executor called name, with
// its text, its outcome (executor.OutcomeOf) and, for a
// *process.WorkerError or *process.TimeoutError, the pid of the helper.
// The hooks record the failures of tasks by themselves, with their text,
// when the executor reports the error (GoPool, process.Executor and
// cluster.Executor do: executor.Finish.Err); call Failed for errors they do
// not see, such as the items that failed inside a chunk (pool.Map with
// chunks, CallChunk), where the program receives them (an ItemError, an
// Imap loop). The page keeps the last WithFailures of them. A nil err
// records nothing. Failed reads the clock and takes a lock briefly; it does
// not count the failure (the hooks do).
func (d *Dashboard) Failed(name string, err error) {
	if err == nil {
		return
	}
	d.exec(name).failures.add(failureOf(err, time.Now()))
}

// Progress returns a function that shows one pool call on the page: pass
// it to pool.WithProgress. Call Progress once per call (each call is its
// own row, named name). The function stores two numbers per report and
// reads the clock only at the last one; the page derives the rate and the
// time left. A call stays listed until WithFinishedCalls newer calls have
// finished; one that never reaches its total (a loop left early) is
// dropped when more than 100 calls are running. Progress takes a lock
// briefly.
func (d *Dashboard) Progress(name string) func(done, total int) {
	c := &call{name: name, start: time.Now()}
	c.total.Store(-1)
	d.mu.Lock()
	d.callID++
	c.id = d.callID
	d.calls = append(d.calls, c)
	d.pruneCallsLocked()
	d.mu.Unlock()
	return c.report
}

// Cluster shows the cluster executor called name: stats is called when a
// page asks, at most once per refresh interval (pages share the answer),
// with a ctx that ends with the page's request or after 5 seconds. For a
// *cluster.Executor ex, stats is ex.Stats (this package imports only the
// type it returns, package cluster/clusterstats, not a NATS client). If
// stats fails, the page shows
// what it returned and the error. A second Cluster with the same name
// replaces the first; a nil stats removes it. Cluster takes a lock briefly.
func (d *Dashboard) Cluster(name string, stats func(context.Context) (clusterstats.Stats, error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if stats == nil {
		delete(d.clusters, name)
		return
	}
	d.clusters[name] = &clusterSource{name: name, stats: stats}
}

// Forget removes the executor called name from the page, with its history
// and failures, so that a program that makes short-lived executors with
// distinct names does not grow the page forever. Hooks already handed out
// keep counting, into numbers no longer shown. Forget takes a lock briefly.
func (d *Dashboard) Forget(name string) {
	d.mu.Lock()
	delete(d.execs, name)
	delete(d.hist, name)
	d.mu.Unlock()
}

func (d *Dashboard) pruneCallsLocked() {
	var running, finished int
	for _, c := range d.calls {
		if c.finished() {
			finished++
		} else {
			running++
		}
	}
	if running <= maxRunningCalls && finished <= d.cfg.calls {
		return
	}
	keep := d.calls[:0]
	for _, c := range d.calls { // oldest first
		if c.finished() && finished > d.cfg.calls {
			finished--
			continue
		}
		if !c.finished() && running > maxRunningCalls {
			running--
			continue
		}
		keep = append(keep, c)
	}
	clear(d.calls[len(keep):])
	d.calls = keep
}

// state is what the page's JSON endpoint returns.
type state struct {
	Title     string        `json:"title"`
	Time      int64         `json:"time"` // Unix milliseconds
	RefreshMS int64         `json:"refreshMs"`
	Executors []execView    `json:"executors"`
	Calls     []callView    `json:"calls"`
	Clusters  []clusterView `json:"clusters"`
}

// clusterTimeout bounds one call of a cluster's stats function.
const clusterTimeout = 5 * time.Second

// snapshot reads everything. It takes a history point if the last one is
// older than most of a refresh interval, so that any number of pages add
// one point per interval.
func (d *Dashboard) snapshot(ctx context.Context) state {
	now := time.Now()
	st := state{Title: d.cfg.title, Time: now.UnixMilli(), RefreshMS: d.cfg.refresh.Milliseconds(),
		Executors: []execView{}, Calls: []callView{}, Clusters: []clusterView{}}
	d.mu.Lock()
	sample := d.lastSample.IsZero() || now.Sub(d.lastSample) >= d.cfg.refresh*9/10
	if sample {
		d.lastSample = now
	}
	execs := make([]*execStats, 0, len(d.execs))
	for _, s := range d.execs {
		execs = append(execs, s)
	}
	clusters := make([]*clusterSource, 0, len(d.clusters))
	for _, c := range d.clusters {
		clusters = append(clusters, c)
	}
	slices.SortFunc(execs, func(a, b *execStats) int { return cmp.Compare(a.name, b.name) })
	slices.SortFunc(clusters, func(a, b *clusterSource) int { return cmp.Compare(a.name, b.name) })
	d.mu.Unlock()

	views := make([]execView, len(execs))
	for i, s := range execs {
		views[i] = s.view() // outside d.mu: it may call the executor
	}

	d.mu.Lock()
	for i := range views {
		h, ok := d.hist[views[i].Name]
		if !ok {
			if _, live := d.execs[views[i].Name]; !live {
				continue // forgotten meanwhile
			}
			h = newHistory(int(d.cfg.history/d.cfg.refresh) + 1)
			d.hist[views[i].Name] = h
		}
		if sample {
			h.add(now, views[i].Done, views[i].Failed, max(3*d.cfg.refresh, 2*time.Second))
		}
		views[i].History = h.view()
	}
	d.pruneCallsLocked()
	for i := len(d.calls) - 1; i >= 0; i-- { // newest first
		st.Calls = append(st.Calls, d.calls[i].view(now, sample))
	}
	d.mu.Unlock()
	st.Executors = views

	for _, c := range clusters {
		st.Clusters = append(st.Clusters, c.view(ctx, d.cfg.refresh*9/10, clusterTimeout))
	}
	return st
}

// history is the throughput chart of one executor: a point per refresh
// interval while a page is open.
type history struct {
	max int
	pts []point
}

type point struct {
	at           time.Time
	done, failed uint64
	gap          bool // the previous point is too far back to draw a rate from
}

type historyView struct {
	T      []float64  `json:"t"`      // Unix seconds
	Rate   []*float64 `json:"rate"`   // tasks ended per second; null: no data
	Failed []*float64 `json:"failed"` // of which failed
}

func newHistory(n int) *history { return &history{max: max(n, 2)} }

func (h *history) add(at time.Time, done, failed uint64, gap time.Duration) {
	p := point{at: at, done: done, failed: failed}
	if n := len(h.pts); n == 0 || at.Sub(h.pts[n-1].at) > gap {
		p.gap = true
	}
	if len(h.pts) == h.max {
		copy(h.pts, h.pts[1:])
		h.pts = h.pts[:len(h.pts)-1]
	}
	h.pts = append(h.pts, p)
}

func (h *history) view() *historyView {
	v := &historyView{T: []float64{}, Rate: []*float64{}, Failed: []*float64{}}
	for i, p := range h.pts {
		v.T = append(v.T, float64(p.at.UnixMilli())/1e3)
		if p.gap || i == 0 {
			v.Rate, v.Failed = append(v.Rate, nil), append(v.Failed, nil)
			continue
		}
		q := h.pts[i-1]
		dt := p.at.Sub(q.at).Seconds()
		r := float64(p.done-min(p.done, q.done)) / dt
		f := float64(p.failed-min(p.failed, q.failed)) / dt
		v.Rate, v.Failed = append(v.Rate, &r), append(v.Failed, &f)
	}
	return v
}
