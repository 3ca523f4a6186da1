package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// Pool runs batches of calls on an Executor: Python's multiprocessing.Pool
// for Go. The work itself is done by the executor (a goroutine pool, a pool
// of helper processes, a cluster); the Pool splits inputs into chunks, keeps
// results in order, bounds how far ahead it reads, reports progress, runs
// callbacks, and manages the lifecycle (Close, Terminate, Join).
//
// Pool is not generic; the calls are generic free functions over it (Map,
// Imap, Apply, ...), since Go methods cannot have type parameters.
// All methods are safe for concurrent use.
type Pool struct {
	ex  executor.Executor
	cfg config

	terminated atomic.Bool
	term       chan struct{} // closed by Terminate

	mu      sync.Mutex
	state   state
	jobs    map[job]struct{}
	drained chan struct{} // closed once the pool is not running and has no jobs

	cbMu sync.Mutex // serializes user callbacks, as Python's result-handler thread does
}

type state uint8

const (
	running state = iota
	closed
	terminating
)

// job is the pool's view of one call's outstanding work.
type job interface {
	// terminate fails the job's result with err and cancels the work it has
	// not started. It must not block and must not call back into the pool
	// with p.mu held (it is called without it).
	terminate(err error)
}

// Option configures a Pool made by New.
type Option interface {
	apply(*config)
}

type config struct {
	own     bool
	onPanic func(*future.CallbackPanicError)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// OwnExecutor makes the Pool own its executor: Join shuts it down after
// Close (outstanding work finishes first), and Terminate stops it at once
// (Executor.Stop), which interrupts running work where the executor can
// (helper processes are killed; goroutines see their context cancelled).
// Without it the executor is the caller's, and the Pool never shuts it down.
func OwnExecutor() Option { return optionFunc(func(c *config) { c.own = true }) }

// WithCallbackPanicHandler sets the function that receives a user callback's
// panic (a WithCallback, WithErrorCallback or WithProgress function), after
// it was recovered. The panic is also reported through the call's result:
// see WithCallback. Default: log it through log/slog's default logger.
func WithCallbackPanicHandler(h func(*future.CallbackPanicError)) Option {
	return optionFunc(func(c *config) { c.onPanic = h })
}

// New returns a running Pool over ex. The Pool starts no goroutines of its
// own. ex must not be nil. The number of workers, the initializer and the
// limit of tasks per worker (Python's maxtasksperchild; for example
// process.WithMaxTasksPerChild, where a chunk counts as one task) are options
// of the executor: the Pool passes its work through unchanged.
func New(ex executor.Executor, opts ...Option) (*Pool, error) {
	if ex == nil {
		return nil, errors.New("pool: nil executor")
	}
	p := &Pool{
		ex:      ex,
		term:    make(chan struct{}),
		jobs:    make(map[job]struct{}),
		drained: make(chan struct{}),
	}
	for _, o := range opts {
		o.apply(&p.cfg)
	}
	return p, nil
}

// Executor returns the executor the Pool runs its work on. It does not block.
func (p *Pool) Executor() executor.Executor { return p.ex }

// Workers returns the executor's number of workers. It does not block.
func (p *Pool) Workers() int { return max(1, p.ex.Workers()) }

// Close stops the Pool from accepting new calls: they fail with ErrClosed.
// Outstanding work (calls made before, including Imap loops already started)
// finishes normally. Close does not block and is idempotent; call Join to
// wait for the outstanding work (and, with OwnExecutor, to shut the executor
// down).
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == running {
		p.state = closed
		p.checkDrainedLocked()
	}
}

// Terminate stops the Pool at once: new calls fail with ErrClosed, and every
// outstanding call fails with an error wrapping ErrTerminated (an async
// result is completed with it, an Imap loop yields it and ends); the work it
// had not started is cancelled. With OwnExecutor, Terminate then stops the
// executor (Executor.Stop) and waits, until ctx ends, for its workers to exit,
// returning ctx's cause if it ends first; without it, work already running
// on the executor runs to its end and its result is dropped. Idempotent;
// ctx must not be nil.
func (p *Pool) Terminate(ctx context.Context) error {
	if ctx == nil {
		panic("pool: nil Context")
	}
	p.mu.Lock()
	var jobs []job
	if p.state != terminating {
		p.state = terminating
		p.terminated.Store(true)
		close(p.term)
		jobs = make([]job, 0, len(p.jobs))
		for j := range p.jobs {
			jobs = append(jobs, j)
		}
		p.checkDrainedLocked()
	}
	p.mu.Unlock()
	err := fmt.Errorf("%w: the call was outstanding", ErrTerminated)
	for _, j := range jobs {
		j.terminate(err)
	}
	if p.cfg.own {
		return p.ex.Stop(ctx)
	}
	return nil
}

// Join waits until every outstanding call of the Pool has finished (an
// Imap loop counts until it returns; after Terminate, Join waits for the
// work it could not cancel to return) and, with
// OwnExecutor, until the executor has shut down. It must follow Close or
// Terminate, else it returns ErrStillRunning. It blocks until then or until
// ctx ends (it returns ctx's cause). ctx must not be nil.
func (p *Pool) Join(ctx context.Context) error {
	if ctx == nil {
		panic("pool: nil Context")
	}
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	if st == running {
		return ErrStillRunning
	}
	select {
	case <-p.drained:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if !p.cfg.own {
		return nil
	}
	if st == terminating {
		return p.ex.Stop(ctx)
	}
	return p.ex.Shutdown(ctx)
}

// add registers a call's outstanding work, or fails if the pool is not running.
func (p *Pool) add(j job) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case closed:
		return ErrClosed
	case terminating:
		return fmt.Errorf("%w (terminated)", ErrClosed)
	}
	p.jobs[j] = struct{}{}
	return nil
}

// remove unregisters a job whose work is all done.
func (p *Pool) remove(j job) {
	p.mu.Lock()
	delete(p.jobs, j)
	p.checkDrainedLocked()
	p.mu.Unlock()
}

func (p *Pool) checkDrainedLocked() {
	if p.state == running || len(p.jobs) > 0 {
		return
	}
	select {
	case <-p.drained:
	default:
		close(p.drained)
	}
}

// terminatedErr returns the error of work outstanding at Terminate, or nil.
func (p *Pool) terminatedErr() error {
	if !p.terminated.Load() {
		return nil
	}
	return fmt.Errorf("%w: the call was outstanding", ErrTerminated)
}

// runCallback runs a user callback, one at a time per pool (as Python's
// single result-handler thread does), and turns a panic into a
// *future.CallbackPanicError, which it reports and returns.
func (p *Pool) runCallback(fn func()) error {
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	return p.guard(fn)
}

// guard runs fn and turns a panic into a *future.CallbackPanicError, which
// it reports and returns.
func (p *Pool) guard(fn func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			e := &future.CallbackPanicError{Value: v, Stack: debug.Stack()}
			if p.cfg.onPanic != nil {
				p.cfg.onPanic(e)
			} else {
				slog.Error(e.Error(), "stack", string(e.Stack))
			}
			err = e
		}
	}()
	fn()
	return nil
}
