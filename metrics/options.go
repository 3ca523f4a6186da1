package metrics

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Option configures New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	namespace      string
	queueWaitBucks []float64
	runBucks       []float64
	constLabels    prometheus.Labels
	timeEvery      uint32
}

// DefaultBuckets are the default upper bounds, in seconds, of both
// histograms: 10µs to about 42s in steps of 4, wide enough for goroutine
// tasks of microseconds and process tasks of seconds.
func DefaultBuckets() []float64 { return prometheus.ExponentialBuckets(10e-6, 4, 12) }

func defaultConfig() config {
	return config{
		namespace:      "gofutures",
		queueWaitBucks: DefaultBuckets(),
		runBucks:       DefaultBuckets(),
		timeEvery:      256,
	}
}

// validName is the classic Prometheus name syntax, which every tool accepts.
var validName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func (c *config) validate() error {
	if c.namespace != "" && !validName.MatchString(c.namespace) {
		return fmt.Errorf("metrics: invalid namespace %q", c.namespace)
	}
	for _, b := range [][]float64{c.queueWaitBucks, c.runBucks} {
		if len(b) == 0 || !slices.IsSorted(b) {
			return fmt.Errorf("metrics: histogram buckets must be non-empty and increasing, got %v", b)
		}
	}
	for _, name := range []string{labelExecutor, labelOutcome, labelReason} {
		if _, ok := c.constLabels[name]; ok {
			return fmt.Errorf("metrics: const label %q clashes with a label of this package", name)
		}
	}
	return nil
}

// WithNamespace sets the prefix of every metric name: letters, digits and
// underscores, or empty for none. Default "gofutures".
// The Grafana dashboard of this package assumes the default.
func WithNamespace(ns string) Option { return optionFunc(func(c *config) { c.namespace = ns }) }

// WithQueueWaitBuckets sets the upper bounds, in seconds, of the queue-wait
// histogram. Default DefaultBuckets(). The slice is copied.
func WithQueueWaitBuckets(b []float64) Option {
	b = slices.Clone(b)
	return optionFunc(func(c *config) { c.queueWaitBucks = b })
}

// WithRunBuckets sets the upper bounds, in seconds, of the run-time
// histogram. Default DefaultBuckets(). The slice is copied.
func WithRunBuckets(b []float64) Option {
	b = slices.Clone(b)
	return optionFunc(func(c *config) { c.runBucks = b })
}

// WithConstLabels adds labels with fixed values to every metric (for
// example the application's name). The map is copied; it must not use the
// label names executor, outcome or reason.
func WithConstLabels(l prometheus.Labels) Option {
	l = maps.Clone(l)
	return optionFunc(func(c *config) { c.constLabels = l })
}

// WithTimingSample lets the goroutine executors measure the queue wait and
// run time of as few as one task in n when tasks come fast
// (Hooks.TimeEvery): GoPool times every task while tasks arrive more than
// 5µs apart on average, and backs off to one in n when they come faster,
// because three clock reads cost about as much as running a trivial task.
// The counters and gauges stay exact; the histograms then hold a sample, so
// their _count can grow slower than tasks_finished_total. Default 256; 1
// times every task whatever the rate. Process and cluster executors time
// every task regardless.
func WithTimingSample(n uint32) Option {
	return optionFunc(func(c *config) { c.timeEvery = max(n, 1) })
}
