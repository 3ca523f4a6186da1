package executor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/internal/zlog"
	"github.com/panjf2000/ants/v2"
)

// GoPool is a pool of goroutines that runs tasks: Python's
// ThreadPoolExecutor for Go, built on ants. Scheduling never blocks unless a
// bounded queue is configured. Every task goes through the pool's own FIFO
// queue, and while tasks wait there and a worker is idle (or fewer workers
// than the maximum run), one worker is on its way to them: the most
// recently idle one is woken, or, if none is idle, a new one starts. That
// worker, once it has taken a task, wakes the next one if tasks are still
// waiting, and a worker that finishes a task takes the next from the queue.
// So a burst of short tasks runs in order on only as many goroutines as keep
// up with it, and no task waits for a busy worker while another is idle.
// Idle workers exit after the idle timeout.
//
// The cost per task: the pool's lock, taken once to schedule the task and
// once to take it, and no allocation beyond the task's own (Submit and Call
// make one, for the task and its future together). A waiting task holds 24
// bytes in the queue (32 if it is timed for the hooks), which grows by
// blocks of 169 tasks without copying and keeps six drained blocks for
// reuse.
//
// A task runs with a context derived from the ctx it was scheduled with (see
// Submit): it sees ctx's values and deadline, and ctx.Done() when ctx ends
// or the pool is stopped. A task still queued when its ctx ends is removed
// from the queue at once (one a worker is on its way to is skipped by that
// worker), and its future fails with context.Cause(ctx); a Schedule with a
// ctx that has ended fails with that cause. The cost: tasks scheduled with
// context.Background() or context.TODO() share the pool's own context, for
// nothing. Tasks scheduled with the same other ctx share one derived
// context while any of them is not finished: the pool's record of it and
// context.WithCancelCause, six allocations (three of them ctx's own, for
// its first child: its done channel and its list of children), plus, once
// one of them waits in the queue for a busy worker, one context.AfterFunc
// on ctx (two allocations) that removes them when it ends. The derived
// context is cancelled, and so unregistered from ctx, when the last of them
// has finished; the most recent one waits for a task with another ctx (or
// the pool's release) first, so that submitting and waiting, task after
// task, with one ctx pays for it once. Only a pointer ctx (as every context
// of package context that can be cancelled) is shared: another type pays
// this per task. A ctx of its own per task thus costs the pool six
// allocations per task, nine if the task waits in the queue for a busy
// worker.
//
// A GoPool must be shut down (Shutdown or Stop) to release its goroutines:
// once it is, it releases them by itself as soon as its last task has
// returned, whether or not a Shutdown or Stop call still waits. A task that
// calls runtime.Goexit fails with a *PanicError and its goroutine is
// replaced. All methods are safe for concurrent use.
type GoPool struct {
	cfg     config
	ants    *ants.PoolWithFuncGeneric[*worker]
	log     *zlog.Logger
	hooks   *Hooks // cfg.hooks, or the ones its Own returned
	own     bool   // counting for the hooks: see Hooks.Own
	release func() // from Hooks.Own

	runCtx  context.Context // given to tasks scheduled with context.Background(); cancelled by Stop
	stopRun context.CancelCauseFunc
	epoch   time.Time // origin of entry.at

	ticks    atomic.Int64  // the reaper's coarse clock, in half idle timeouts
	stopReap chan struct{} // closed to stop the reaper
	reaped   chan struct{} // closed when the reaper has returned

	mu    sync.Mutex
	queue queue
	idle  []*worker // LIFO: the most recently idle worker is reused first
	// workers are the workers alive, of which spinning are on their way to
	// the queue (woken or started to take a task from it, not there yet):
	// see spinLocked.
	workers  int
	spinning int
	// unwatched counts the scoped tasks queued while a worker was on its
	// way, whose ctx is not watched yet (see watchQueuedLocked).
	unwatched int
	closed    bool          // Shutdown or Stop called
	closing   chan struct{} // closed when closed is set: see Closing
	broken    error         // non-nil once broken
	notFull   chan struct{} // closed and replaced when room appears in a bounded queue
	nextID    int
	scopes    map[any]*scope // live scopes: see scope
	last      *scope         // the shared scope entered last, looked at before scopes
	// scopesPeak is the largest len(scopes) since it was made.
	scopesPeak int
	// Calls the release waits for (see checkDoneLocked): Shutdown and Stop
	// finishing the tasks they took from the queue, and WorkerStopped hooks
	// of workers already counted gone.
	holds     int
	releasing bool          // releaseAll started
	released  chan struct{} // closed when releaseAll has returned
	relErr    error         // what releaseAll met; read after released is closed
	// Tasks accepted so far, and tasks taken by a worker that has not come
	// back for more: the counts of Hooks.Own.
	submitted uint64
	running   int

	// Which tasks to time for the hooks: see timeLocked.
	timeEvery  uint32 // time one task in timeEvery (0 or 1: every one)
	sinceTimed uint32 // tasks scheduled since the last one timed
	lastTimed  int64  // when the last one timed was scheduled (p.now)
}

var _ Executor = (*GoPool)(nil)

// NewGoPool returns a running GoPool. It fails if an option is invalid.
// The pool runs goroutines of its own (its idle-worker reaper, and ants'
// pool) until it is shut down: call Shutdown or Stop when done with it,
// typically with defer, or they leak.
func NewGoPool(opts ...Option) (*GoPool, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &GoPool{
		cfg:      cfg,
		log:      cfg.logger.With(zlog.String("executor", cfg.name)),
		released: make(chan struct{}),
		closing:  make(chan struct{}),
		epoch:    time.Now(),
		stopReap: make(chan struct{}),
		reaped:   make(chan struct{}),
	}
	p.hooks = cfg.hooks
	if h := cfg.hooks; h != nil && h.Own != nil {
		p.hooks, p.release = h.Own(p.counts)
		p.own = true
	}
	p.runCtx, p.stopRun = context.WithCancelCause(context.Background())
	// ants' capacity is unlimited: p.workers bounds the workers. So Invoke
	// never waits, not even for the slot of a goroutine that is ending by
	// runtime.Goexit (ants frees that slot only after the goroutine's last
	// deferred call), and a dying worker can start its replacement.
	pool, err := ants.NewPoolWithFuncGeneric(-1, p.loop,
		ants.WithPanicHandler(func(v any) { p.log.Error("worker panicked outside a task", zlog.Any("panic", v)) }),
		ants.WithLogger(p.log),
	)
	if err != nil {
		p.stopRun(nil)
		if p.release != nil {
			p.release()
		}
		return nil, fmt.Errorf("executor: %w", err)
	}
	p.ants = pool
	go p.reap()
	return p, nil
}

// Workers returns the maximum number of tasks that run at once.
func (p *GoPool) Workers() int { return p.cfg.workers }

// Hooks returns the hooks the pool calls (see WithHooks; with Own, those
// it returned), so that work done around the pool, as retries, is counted
// with the pool's. It does not block.
func (p *GoPool) Hooks() *Hooks { return p.hooks }

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

// counts implements the read function of Hooks.Own.
func (p *GoPool) counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Counts{Submitted: p.submitted, Queued: p.queue.len(), Running: p.running}
}

// now returns the nanoseconds since p.epoch on the monotonic clock, plus
// one so that it is never 0 (an entry's "not timed").
func (p *GoPool) now() int64 { return int64(time.Since(p.epoch)) + 1 }
