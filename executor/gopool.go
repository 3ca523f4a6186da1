package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"
	"go.uber.org/zap"
)

// GoPool is a pool of goroutines that runs tasks: Python's
// ThreadPoolExecutor for Go, built on ants. Scheduling never blocks unless a
// bounded queue is configured: tasks wait in the pool's own FIFO queue while
// every worker is busy. An idle worker is reused before a new one starts, and
// idle workers exit after the idle timeout.
//
// A GoPool must be shut down (Shutdown or Stop) to release its goroutines.
// All methods are safe for concurrent use.
type GoPool struct {
	cfg  config
	ants *ants.PoolWithFuncGeneric[*worker]
	log  *zap.Logger

	runCtx  context.Context // given to tasks; cancelled by Stop
	stopRun context.CancelCauseFunc

	mu       sync.Mutex
	queue    ring
	idle     []*worker // LIFO: the most recently idle worker is reused first
	workers  int       // alive
	closed   bool      // Shutdown or Stop called
	broken   error     // non-nil once broken
	allDone  chan struct{}
	notFull  chan struct{} // closed and replaced when room appears in a bounded queue
	released sync.Once
	nextID   int
}

var _ Executor = (*GoPool)(nil)

// worker is one goroutine's loop. Work is handed to an idle worker on ch.
type worker struct {
	id    int
	ch    chan entry // buffered 1; a nil task means "exit"
	first entry
	timer *time.Timer
}

// NewGoPool returns a running GoPool. It fails if an option is invalid.
func NewGoPool(opts ...Option) (*GoPool, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &GoPool{cfg: cfg, log: cfg.logger.With(zap.String("executor", cfg.name)), allDone: make(chan struct{})}
	p.runCtx, p.stopRun = context.WithCancelCause(context.Background())
	pool, err := ants.NewPoolWithFuncGeneric(cfg.workers, p.loop,
		ants.WithPanicHandler(func(v any) { p.log.Error("worker panicked outside a task", zap.Any("panic", v)) }),
		ants.WithLogger(zapPrintf{p.log}),
	)
	if err != nil {
		p.stopRun(nil)
		return nil, fmt.Errorf("executor: %w", err)
	}
	p.ants = pool
	return p, nil
}

type zapPrintf struct{ l *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) { z.l.Sugar().Infof(format, args...) }

// Workers returns the maximum number of tasks that run at once.
func (p *GoPool) Workers() int { return p.cfg.workers }

// Stats is a snapshot of a GoPool.
type Stats struct {
	Workers int // goroutines alive
	Idle    int // of which idle
	Queued  int // tasks waiting for a worker
}

// Stats returns a snapshot of the pool. It takes the pool's lock briefly.
func (p *GoPool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Workers: p.workers, Idle: len(p.idle), Queued: p.queue.len()}
}

// Schedule implements Executor.
func (p *GoPool) Schedule(ctx context.Context, t Task) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	e := entry{t: t}
	if p.cfg.hooks != nil {
		e.at = time.Now()
	}
	p.mu.Lock()
	for {
		if err := p.acceptLocked(); err != nil {
			p.mu.Unlock()
			return err
		}
		if n := len(p.idle); n > 0 {
			w := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			p.cfg.hooks.OnSubmitted()
			w.ch <- e
			return nil
		}
		if p.workers < p.cfg.workers {
			p.workers++
			p.nextID++
			w := &worker{id: p.nextID, ch: make(chan entry, 1), first: e}
			p.mu.Unlock()
			p.cfg.hooks.OnSubmitted()
			if err := p.ants.Invoke(w); err != nil {
				// Only when ants itself is closed, which happens after the
				// last worker exited: undo and report it.
				p.workerGone(w, ExitCrashed)
				return fmt.Errorf("%w: %w", ErrShutdown, err)
			}
			return nil
		}
		if p.cfg.queueLimit == 0 || p.queue.len() < p.cfg.queueLimit {
			p.queue.push(e)
			p.mu.Unlock()
			p.cfg.hooks.OnSubmitted()
			return nil
		}
		if p.cfg.failFast {
			p.mu.Unlock()
			return fmt.Errorf("%w (%d tasks waiting)", ErrOverloaded, p.cfg.queueLimit)
		}
		if p.notFull == nil {
			p.notFull = make(chan struct{})
		}
		wait := p.notFull
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		p.mu.Lock()
	}
}

func (p *GoPool) acceptLocked() error {
	if p.broken != nil {
		return p.broken
	}
	if p.closed {
		return ErrShutdown
	}
	return nil
}

// loop is a worker's life, run on an ants goroutine.
func (p *GoPool) loop(w *worker) {
	p.cfg.hooks.OnWorkerStarted()
	p.log.Debug("worker started", zap.Int("worker", w.id))
	if p.cfg.init != nil {
		if err := p.initWorker(w); err != nil {
			p.workerGone(w, ExitInitError)
			return
		}
	}
	w.timer = time.NewTimer(p.cfg.idleTimeout)
	w.timer.Stop()
	e := w.first
	w.first = entry{}
	for {
		p.run(e)
		var reason WorkerExit
		if e, reason = p.next(w); e.t == nil {
			p.workerGone(w, reason)
			return
		}
	}
}

func (p *GoPool) initWorker(w *worker) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v}
		}
		if err == nil {
			return
		}
		broken := fmt.Errorf("%w: initializer failed: %w", ErrBroken, err)
		p.log.Error("initializer failed; executor broken", zap.Int("worker", w.id), zap.Error(err))
		p.mu.Lock()
		if p.broken == nil {
			p.broken = broken
		}
		queued := p.queue.drain()
		p.wakeLocked()
		p.mu.Unlock()
		p.fail(w.first, broken)
		for _, e := range queued {
			p.fail(e, broken)
		}
	}()
	return p.cfg.init(p.runCtx)
}

// fail completes a task that will not run.
func (p *GoPool) fail(e entry, err error) {
	if e.t.Fail(err) {
		p.cfg.hooks.OnFinished(Finish{Outcome: OutcomeOf(err)})
	} else {
		p.cfg.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
	}
}

func (p *GoPool) run(e entry) {
	if !e.t.Start() {
		p.cfg.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
		return
	}
	if p.cfg.hooks == nil {
		_ = e.t.Run(p.runCtx)
		return
	}
	start := time.Now()
	p.cfg.hooks.OnStarted(start.Sub(e.at))
	err := e.t.Run(p.runCtx)
	p.cfg.hooks.OnFinished(Finish{Outcome: OutcomeOf(err), Ran: true, Run: time.Since(start)})
}

// next returns the worker's next task, waiting while idle; an entry with a
// nil task means the worker must exit, for the reason returned.
func (p *GoPool) next(w *worker) (entry, WorkerExit) {
	p.mu.Lock()
	if e, ok := p.queue.pop(); ok {
		p.roomLocked()
		p.mu.Unlock()
		return e, ""
	}
	if p.closed || p.broken != nil {
		p.mu.Unlock()
		return entry{}, ExitShutdown
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()

	w.timer.Reset(p.cfg.idleTimeout)
	select {
	case e := <-w.ch:
		w.timer.Stop()
		return e, ExitShutdown
	case <-w.timer.C:
	}
	p.mu.Lock()
	for i, x := range p.idle {
		if x == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.mu.Unlock()
			return entry{}, ExitIdle
		}
	}
	p.mu.Unlock()
	// Someone took this worker off the idle list and is handing it work.
	return <-w.ch, ExitShutdown
}

// roomLocked wakes Schedule calls blocked on a full queue.
func (p *GoPool) roomLocked() {
	if p.notFull != nil {
		close(p.notFull)
		p.notFull = nil
	}
}

// wakeLocked tells every idle worker to exit and wakes blocked Schedule calls.
func (p *GoPool) wakeLocked() {
	for _, w := range p.idle {
		w.ch <- entry{}
	}
	p.idle = nil
	p.roomLocked()
}

func (p *GoPool) workerGone(w *worker, reason WorkerExit) {
	p.log.Debug("worker stopped", zap.Int("worker", w.id), zap.String("reason", string(reason)))
	p.cfg.hooks.OnWorkerStopped(reason)
	p.mu.Lock()
	p.workers--
	p.checkDoneLocked()
	p.mu.Unlock()
}

func (p *GoPool) checkDoneLocked() {
	if p.closed && p.workers == 0 {
		select {
		case <-p.allDone:
		default:
			close(p.allDone)
		}
	}
}

// Shutdown implements Executor: no new work; queued and running work
// finishes (or, with CancelPending, queued work is cancelled); it waits for
// the workers to exit and releases the goroutines, until ctx ends.
func (p *GoPool) Shutdown(ctx context.Context, opts ...ShutdownOption) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	sc := ShutdownSettings(opts...)
	var cancelled []entry
	p.mu.Lock()
	first := !p.closed
	p.closed = true
	if sc.CancelPending {
		cancelled = p.queue.drain()
	}
	p.wakeLocked()
	p.checkDoneLocked()
	p.mu.Unlock()
	if first {
		p.log.Info("shutdown begun", zap.Bool("cancel_pending", sc.CancelPending))
	}
	for _, e := range cancelled {
		e.t.Cancel()
		p.cfg.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
	}
	return p.wait(ctx)
}

// Stop implements Executor: queued work fails with ErrStopped, the context of
// running tasks is cancelled with cause ErrStopped, and it waits for the
// running tasks to return, until ctx ends. Goroutines cannot be killed: a task
// that ignores its context keeps its worker until it returns.
func (p *GoPool) Stop(ctx context.Context) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	p.mu.Lock()
	p.closed = true
	queued := p.queue.drain()
	p.wakeLocked()
	p.checkDoneLocked()
	p.mu.Unlock()
	p.stopRun(ErrStopped)
	err := fmt.Errorf("%w before it started", ErrStopped)
	for _, e := range queued {
		p.fail(e, err)
	}
	return p.wait(ctx)
}

func (p *GoPool) wait(ctx context.Context) error {
	select {
	case <-p.allDone:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	var err error
	p.released.Do(func() {
		p.stopRun(ErrShutdown)
		if e := p.ants.ReleaseContext(ctx); e != nil && !errors.Is(e, ants.ErrPoolClosed) {
			err = e
		}
		p.log.Info("shutdown done")
	})
	return err
}
