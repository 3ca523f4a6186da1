package dashboard

import (
	"fmt"
	"time"
)

// Option configures New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	title     string
	refresh   time.Duration
	history   time.Duration
	failures  int
	calls     int
	timeEvery uint32
}

func defaultConfig() config {
	return config{
		title:     "gofutures",
		refresh:   time.Second,
		history:   10 * time.Minute,
		failures:  20,
		calls:     20,
		timeEvery: 256,
	}
}

func (c *config) validate() error {
	switch {
	case c.refresh <= 0:
		return fmt.Errorf("dashboard: refresh interval must be positive, got %v", c.refresh)
	case c.history < c.refresh:
		return fmt.Errorf("dashboard: history %v is shorter than the refresh interval %v", c.history, c.refresh)
	case c.failures < 0:
		return fmt.Errorf("dashboard: failures to keep must be >= 0, got %d", c.failures)
	case c.calls < 1:
		return fmt.Errorf("dashboard: finished calls to keep must be >= 1, got %d", c.calls)
	}
	return nil
}

// WithTitle sets the page's title, shown in its heading and the browser's
// tab. Default "gofutures".
func WithTitle(title string) Option { return optionFunc(func(c *config) { c.title = title }) }

// WithRefresh sets how often an open page asks for fresh numbers, which is
// also the spacing of the throughput chart's points. Default 1s; it must
// be positive.
func WithRefresh(d time.Duration) Option { return optionFunc(func(c *config) { c.refresh = d }) }

// WithHistory sets how far back the throughput chart goes. Points are
// taken only while a page is open (one per refresh interval, whatever the
// number of pages), so the chart starts when the first page opened and
// has a gap where none was open. Default 10 minutes; it must be at least
// the refresh interval.
func WithHistory(d time.Duration) Option { return optionFunc(func(c *config) { c.history = d }) }

// WithFailures sets how many recent failures are kept per executor, with
// their error text. Default 20; 0 keeps none (they are still counted).
func WithFailures(n int) Option { return optionFunc(func(c *config) { c.failures = n }) }

// WithFinishedCalls sets how many finished pool calls stay listed, besides
// those still running. Default 20; it must be at least 1.
func WithFinishedCalls(n int) Option { return optionFunc(func(c *config) { c.calls = n }) }

// WithTimingSample lets executors time as few as one task in n for the
// run-time distribution when tasks come faster than a clock read is worth
// (see executor.Hooks.TimeEvery: a GoPool times every task while they
// arrive more than 5µs apart). Default 256; 1 times every task.
func WithTimingSample(n uint32) Option {
	return optionFunc(func(c *config) { c.timeEvery = max(n, 1) })
}
