package executor

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/gofutures/gofutures/internal/zlog"
	"go.uber.org/zap/zapcore"
)

// Option configures a GoPool.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name        string
	workers     int
	queueLimit  int // 0: unbounded
	failFast    bool
	idleTimeout time.Duration
	init        func(context.Context) error
	hooks       *Hooks
	logger      *zlog.Logger
}

func defaultConfig() config {
	return config{
		name:        "gopool",
		workers:     min(32, runtime.NumCPU()+4),
		idleTimeout: 10 * time.Second,
		logger:      zlog.New(nil),
	}
}

func (c *config) validate() error {
	if c.workers <= 0 {
		return fmt.Errorf("executor: workers must be > 0, got %d", c.workers)
	}
	if c.queueLimit < 0 {
		return fmt.Errorf("executor: queue limit must be >= 0, got %d", c.queueLimit)
	}
	if c.idleTimeout <= 0 {
		return fmt.Errorf("executor: idle timeout must be > 0, got %v", c.idleTimeout)
	}
	if c.failFast && c.queueLimit == 0 {
		return fmt.Errorf("executor: WithFailFast needs WithQueueLimit")
	}
	return nil
}

// WithName names the executor in logs and metrics. Default "gopool".
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithWorkers sets the maximum number of goroutines running tasks at once.
// Default min(32, NumCPU+4), as Python's ThreadPoolExecutor; n <= 0 makes
// NewGoPool fail.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithQueueLimit bounds the number of tasks waiting for a worker. When the
// queue is full, Schedule blocks until there is room or its ctx ends
// (backpressure), or with WithFailFast returns ErrOverloaded. Default 0:
// unbounded, Schedule never blocks.
func WithQueueLimit(n int) Option { return optionFunc(func(c *config) { c.queueLimit = n }) }

// WithFailFast makes a full bounded queue reject work with ErrOverloaded
// instead of blocking.
func WithFailFast() Option { return optionFunc(func(c *config) { c.failFast = true }) }

// WithIdleTimeout sets how long an idle worker waits for work before it
// exits. Default 10s.
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.idleTimeout = d })
}

// WithInitializer sets a function run once by each worker before its first
// task. If it fails, the executor is broken: the task that started the worker
// and every queued task fail with an error wrapping ErrBroken and the
// initializer's error, and later Schedule calls fail with it too.
func WithInitializer(fn func(ctx context.Context) error) Option {
	return optionFunc(func(c *config) { c.init = fn })
}

// WithHooks sets the hooks the executor calls (see Hooks); package metrics
// provides them. Default none. A GoPool counts its tasks accepted, queued
// and running itself when the hooks have Own, and then calls only the hooks
// Own returns.
func WithHooks(h *Hooks) Option { return optionFunc(func(c *config) { c.hooks = h }) }

// WithLogger sets the *zap.Logger for lifecycle events (workers started and
// stopped, broken, shutdown); its core (Core) receives them. Default: none
// (nothing is logged); nil also means none.
func WithLogger(l interface{ Core() zapcore.Core }) Option {
	return optionFunc(func(c *config) {
		c.logger = zlog.New(l)
	})
}
