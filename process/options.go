package process

import (
	"fmt"
	"runtime"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/zlog"
	"github.com/gofutures/gofutures/process/internal/wire"
	"go.uber.org/zap/zapcore"
)

// Option configures an Executor.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name         string
	workers      int
	maxTasks     int
	taskTimeout  time.Duration
	cancelGrace  time.Duration
	startTimeout time.Duration
	maxFrame     int
	maxInFlight  int
	path         string // "" = this program
	args         []string
	env          []string
	init         *initCall
	hooks        *executor.Hooks
	logger       *zlog.Logger
}

// initCall is the initializer: a registered function and its argument,
// packaged as a driver.Remote so that it is encoded like any call.
// Its result is decoded into nil (discarded); Finish is not used.
type initCall struct {
	name string
	arg  any
}

func (c *initCall) FuncName() string      { return c.name }
func (c *initCall) Chunk() bool           { return false }
func (c *initCall) Args() any             { return c.arg }
func (c *initCall) Result() any           { return nil }
func (c *initCall) Finish(error, []error) {}

func defaultConfig() config {
	return config{
		name:         "process",
		workers:      runtime.NumCPU(),
		startTimeout: 10 * time.Second,
		cancelGrace:  time.Second,
		maxFrame:     wire.DefaultMaxFrame,
		maxInFlight:  1024,
		logger:       zlog.New(nil),
	}
}

func (c *config) validate() error {
	switch {
	case c.workers <= 0:
		return fmt.Errorf("process: workers must be > 0, got %d", c.workers)
	case c.maxTasks < 0:
		return fmt.Errorf("process: max tasks per child must be >= 0, got %d", c.maxTasks)
	case c.taskTimeout < 0:
		return fmt.Errorf("process: task timeout must be >= 0, got %v", c.taskTimeout)
	case c.cancelGrace < 0:
		return fmt.Errorf("process: cancel grace must be >= 0, got %v", c.cancelGrace)
	case c.startTimeout <= 0:
		return fmt.Errorf("process: start timeout must be > 0, got %v", c.startTimeout)
	case c.maxFrame < 1024 || c.maxFrame > 1<<31-1:
		return fmt.Errorf("process: max frame size must be in [1 KiB, 2 GiB), got %d", c.maxFrame)
	case c.maxInFlight <= 0:
		return fmt.Errorf("process: max in flight must be > 0, got %d", c.maxInFlight)
	}
	return nil
}

// WithName names the pool in logs. Default "process".
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithWorkers sets the number of helper processes. Default runtime.NumCPU(),
// as Python's ProcessPoolExecutor; n <= 0 makes New fail. Each helper runs
// one task at a time, with GOMAXPROCS set to its share of this process's
// (GOMAXPROCS divided by n, at least 1), unless the environment sets
// GOMAXPROCS: for tasks that run goroutines in parallel, give the helpers
// more with WithEnv("GOMAXPROCS=k"). Programs that tasks start do not
// inherit the share.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithMaxTasksPerChild replaces a helper after it has run n tasks (a chunk
// counts as one task), as Python's max_tasks_per_child. Default 0: never.
func WithMaxTasksPerChild(n int) Option { return optionFunc(func(c *config) { c.maxTasks = n }) }

// WithTaskTimeout limits how long one task (or one chunk) may run in a
// helper, from when it starts there. It is the deadline of the ctx of a
// task whose caller set none (ctx.Deadline inside the helper says so); a
// task that has not returned a cancel grace (WithCancelGrace) after it fails
// with a *TimeoutError (matching context.DeadlineExceeded), its helper's
// whole process group is killed, and a new helper takes its place; the tasks
// sent to it that had not started run elsewhere. Default 0: no limit.
func WithTaskTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.taskTimeout = d })
}

// WithCancelGrace sets how long a task whose ctx ended (the caller's ctx was
// cancelled or passed its deadline, or the task timeout passed) may go on
// before its helper's process group is killed, as exec.Cmd.WaitDelay does
// for a command: a task that honours its ctx returns within it and its
// helper lives on. The killed task fails with the ctx's cause (or a
// *TimeoutError for the task timeout). Default 1s; 0 kills at once.
func WithCancelGrace(d time.Duration) Option {
	return optionFunc(func(c *config) { c.cancelGrace = d })
}

// WithStartTimeout bounds how long a new helper may take to start, complete
// the handshake and run the initializer. Default 10s.
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.startTimeout = d })
}

// WithMaxFrameSize sets the largest frame, in bytes, that the pool and its
// helpers send or accept: the encoded arguments of one task (or chunk), or
// its encoded result. A task whose arguments or result are larger fails with
// ErrFrameTooLarge; a helper that sends a larger frame is killed. Default 64
// MiB; it must be at least 1 KiB.
func WithMaxFrameSize(n int) Option { return optionFunc(func(c *config) { c.maxFrame = n }) }

// WithMaxInFlight bounds how many tasks are sent ahead to one helper, so that
// small tasks are not bound by the round trip. The pool adapts the depth to
// the tasks' run time (deep for tiny tasks, one at a time for long ones) up to
// this bound. Default 1024.
func WithMaxInFlight(n int) Option { return optionFunc(func(c *config) { c.maxInFlight = n }) }

// WithHelper runs path with args as the helper binary instead of
// re-executing this program. The binary must register the same functions
// (share the package that registers them) and call Serve or ServeIfHelper at
// the top of main.
func WithHelper(path string, args ...string) Option {
	return optionFunc(func(c *config) { c.path, c.args = path, args })
}

// WithEnv adds "KEY=value" entries to the environment of the helpers (which
// otherwise inherit this process's environment).
func WithEnv(env ...string) Option {
	return optionFunc(func(c *config) { c.env = append(c.env, env...) })
}

// WithInitializer runs fn(arg) once in each helper before its first task
// (Python's initializer and initargs). If it fails, the helper is discarded
// and another one started; if helpers keep failing to initialise, the pool is
// broken: queued and later tasks fail with an error wrapping
// executor.ErrBroken and the initializer's error.
func WithInitializer[A, R any](fn *Func[A, R], arg A) Option {
	return optionFunc(func(c *config) { c.init = &initCall{name: fn.FuncName(), arg: arg} })
}

// WithHooks sets the hooks the pool calls (see executor.Hooks). Default none.
func WithHooks(h *executor.Hooks) Option { return optionFunc(func(c *config) { c.hooks = h }) }

// WithLogger sets the logger for lifecycle events (helpers started, exited,
// respawned; broken; shutdown) and for the helpers' standard error, one entry
// per line with the helper's pid. l is a *zap.Logger; its core (Core)
// receives the entries. Default: none (nothing is logged); nil also means
// none.
func WithLogger(l interface{ Core() zapcore.Core }) Option {
	return optionFunc(func(c *config) {
		c.logger = zlog.New(l)
	})
}
