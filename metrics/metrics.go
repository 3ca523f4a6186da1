package metrics

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gofutures/gofutures/executor"
	"github.com/prometheus/client_golang/prometheus"
)

// Label names.
const (
	labelExecutor = "executor"
	labelOutcome  = "outcome"
	labelReason   = "reason"
)

// Metrics is the Prometheus collector of this package: it holds the counts of
// every executor that uses hooks from Hooks, and reports them when Prometheus
// scrapes. Make one with New, which registers it. All methods are safe for
// concurrent use.
type Metrics struct {
	outcomes []string // label values, by executor.Outcome; the last is "unknown"

	submitted, finished, queued, inFlight *prometheus.Desc
	workers, workerStarts, workerStops    *prometheus.Desc
	retries                               *prometheus.Desc
	queueWait, run                        *prometheus.Desc
	waitBound, runBound                   []float64
	timeEvery                             uint32

	mu    sync.RWMutex
	execs map[string]*series
}

var _ prometheus.Collector = (*Metrics)(nil)

// New makes the collectors and registers them on reg, which must not be nil;
// pass prometheus.DefaultRegisterer explicitly to use the global registry.
// One Metrics serves any number of executors: register it once per registry.
// New fails if an option is invalid or if registering fails (a second
// Metrics with the same namespace on reg returns an error wrapping
// prometheus.AlreadyRegisteredError). It does not block.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil Registerer")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	name := func(n string) string { return prometheus.BuildFQName(cfg.namespace, "executor", n) }
	desc := func(n, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name(n), help, append([]string{labelExecutor}, labels...), cfg.constLabels)
	}
	m := &Metrics{
		submitted: desc("tasks_submitted_total", "Tasks accepted by the executor."),
		finished: desc("tasks_finished_total",
			"Tasks ended, by outcome (ok, error, panic, cancelled, timeout, worker_died, stopped).", labelOutcome),
		queued:   desc("tasks_queued", "Tasks accepted that have neither started nor ended (queue depth)."),
		inFlight: desc("tasks_in_flight", "Tasks running now."),
		workers:  desc("workers", "Workers (goroutines or helper processes) alive."),
		workerStarts: desc("worker_starts_total",
			"Workers started; for process pools, helper processes started."),
		workerStops: desc("worker_stops_total",
			"Workers stopped, by reason (idle, shutdown, init_error, max_tasks, crashed, timeout, killed).", labelReason),
		queueWait: desc("task_queue_wait_seconds",
			"Time tasks waited in the executor between being accepted and starting."),
		run: desc("task_run_seconds", "Run time of the tasks that ran, whatever their outcome."),
		retries: desc("task_retries_total",
			"Attempts that failed and were scheduled again by a retry policy (executor.Retry); each attempt also counts as a task."),
		waitBound: cfg.queueWaitBucks,
		runBound:  cfg.runBucks,
		timeEvery: cfg.timeEvery,
		execs:     make(map[string]*series),
	}
	for _, o := range executor.Outcomes() {
		m.outcomes = append(m.outcomes, o.String())
	}
	m.outcomes = append(m.outcomes, "unknown")
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return m, nil
}

// Hooks returns the hooks that count the work of the executor called name
// (the value of the executor label); pass them with executor.WithHooks or
// the equivalent option of other executors. It creates the executor's series
// once, with every outcome and exit reason at zero, so that the hooks do no
// lookups and no allocations per task, only atomic additions; a GoPool
// counts for itself through their Own (see the package doc). Executors
// given hooks for the same name add up into the same series. Hooks takes a
// lock briefly; the hooks it returns are safe for concurrent use.
func (m *Metrics) Hooks(name string) *executor.Hooks {
	s := m.series(name)
	return &executor.Hooks{
		Submitted:     s.onSubmitted,
		Started:       s.onStarted,
		Finished:      s.onFinished,
		WorkerStarted: s.onWorkerStarted,
		WorkerStopped: s.onWorkerStopped,
		Retried:       s.onRetried,
		TimeEvery:     m.timeEvery,
		Own: func(read func() executor.Counts) (*executor.Hooks, func()) {
			return s.own(read, m.timeEvery)
		},
	}
}

func (m *Metrics) series(name string) *series {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.execs[name]; ok {
		return s
	}
	s := newSeries(len(m.outcomes), m.waitBound, m.runBound)
	m.execs[name] = s
	return s
}

// Forget removes the series of the executor called name, so that an
// application that makes short-lived executors with distinct names does not
// grow its metrics forever. Hooks already handed out keep counting, into
// series that are no longer reported. Forget takes a lock briefly.
func (m *Metrics) Forget(name string) {
	m.mu.Lock()
	delete(m.execs, name)
	m.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		m.submitted, m.finished, m.queued, m.inFlight, m.queueWait, m.run, m.workers, m.workerStarts, m.workerStops,
		m.retries,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It reads every executor's counts
// under a read lock and allocates the samples it sends.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for name, s := range m.execs {
		sn := s.snapshot()
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name}, labels...)...)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
		}
		counter(m.submitted, sn.submitted)
		for i, v := range sn.outcomes {
			if i == len(sn.outcomes)-1 && v == 0 {
				break // "unknown" only when it happened
			}
			counter(m.finished, v, m.outcomes[i])
		}
		gauge(m.queued, float64(sn.queued))
		gauge(m.inFlight, float64(sn.inFlight))
		ch <- prometheus.MustNewConstHistogram(m.queueWait, sn.wait.count, sn.wait.sum, sn.wait.buckets, name)
		ch <- prometheus.MustNewConstHistogram(m.run, sn.run.count, sn.run.sum, sn.run.buckets, name)
		gauge(m.workers, float64(sn.alive))
		counter(m.workerStarts, sn.starts)
		counter(m.retries, sn.retries)
		for r, v := range sn.stops {
			counter(m.workerStops, v, string(r))
		}
	}
}
