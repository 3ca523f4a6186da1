package executor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"go.uber.org/zap"

	"github.com/gofutures/gofutures/internal/ring"
)

// GoPool is a pool of goroutines that runs tasks: Python's
// ThreadPoolExecutor for Go, built on ants. Scheduling never blocks unless a
// bounded queue is configured: tasks wait in the pool's own FIFO queue while
// every worker is busy. An idle worker is reused before a new one starts, and
// idle workers exit after the idle timeout.
//
// A task runs with a context derived from the ctx it was scheduled with (see
// Submit): it sees ctx's values and deadline, and ctx.Done() when ctx ends
// or the pool is stopped. A task still queued when its ctx ends is removed
// from the queue at once, and its future fails with context.Cause(ctx); a
// Schedule with a ctx that has ended fails with that cause. The cost: tasks
// scheduled with context.Background() or context.TODO() share the pool's
// own context, for nothing. Tasks scheduled with the same other ctx share
// one derived context while any of them is not finished, made with
// context.WithCancelCause (two allocations and a bookkeeping one), plus,
// once one of them waits in the queue, one context.AfterFunc on ctx (three
// allocations) that removes them when it ends. The derived context is
// cancelled, and so unregistered from ctx, when the last of them has
// finished; the most recent one waits for a task with another ctx (or the
// pool's release) first, so that submitting and waiting, task after task,
// with one ctx pays for it once. Only a pointer ctx (as every context of
// package context that can be cancelled) is shared: another type pays this
// per task. A ctx of its own per task thus costs the pool three allocations
// per task, six if the task waits in the queue.
//
// A GoPool must be shut down (Shutdown or Stop) to release its goroutines:
// once it is, it releases them by itself as soon as its last task has
// returned, whether or not a Shutdown or Stop call still waits. A task that
// calls runtime.Goexit fails with a *PanicError and its goroutine is
// replaced. All methods are safe for concurrent use.
type GoPool struct {
	cfg     config
	ants    *ants.PoolWithFuncGeneric[*worker]
	log     *zap.Logger
	hooks   *Hooks // cfg.hooks, or the ones its Own returned
	own     bool   // counting for the hooks: see Hooks.Own
	release func() // from Hooks.Own

	runCtx  context.Context // given to tasks scheduled with context.Background(); cancelled by Stop
	stopRun context.CancelCauseFunc
	epoch   time.Time // origin of entry.at

	ticks    atomic.Int64  // the reaper's coarse clock, in half idle timeouts
	stopReap chan struct{} // closed to stop the reaper
	reaped   chan struct{} // closed when the reaper has returned

	mu      sync.Mutex
	queue   ring.Ring[entry]
	idle    []*worker     // LIFO: the most recently idle worker is reused first
	workers int           // alive
	closed  bool          // Shutdown or Stop called
	broken  error         // non-nil once broken
	notFull chan struct{} // closed and replaced when room appears in a bounded queue
	nextID  int
	scopes  map[any]*scope // live scopes: see scope
	last    *scope         // the shared scope entered last, looked at before scopes
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

// worker is one goroutine's loop. Work is handed to an idle worker on ch.
type worker struct {
	id     int
	ch     chan entry // buffered 1; a nil task means "exit", for the reason in exit
	first  entry
	idleAt int64      // p.ticks when it went idle; guarded by p.mu
	exit   WorkerExit // set by whoever sends the nil task, before sending
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
	p := &GoPool{
		cfg:      cfg,
		log:      cfg.logger.With(zap.String("executor", cfg.name)),
		released: make(chan struct{}),
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
		ants.WithPanicHandler(func(v any) { p.log.Error("worker panicked outside a task", zap.Any("panic", v)) }),
		ants.WithLogger(zapPrintf{p.log}),
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

type zapPrintf struct{ l *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) { z.l.Sugar().Infof(format, args...) }

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
	return Stats{Workers: p.workers, Idle: len(p.idle), Queued: p.queue.Len()}
}

// Schedule implements Executor. It takes the pool's lock once; with a ctx
// that can be cancelled it first checks that ctx has not ended.
func (p *GoPool) Schedule(ctx context.Context, t Task) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	e := entry{t: t}
	// A task scheduled with an empty context runs with p.runCtx: nothing
	// to derive, nothing to watch, no cost. Any other gets a scope.
	scoped := !isBackground(ctx)
	if done := ctx.Done(); done != nil {
		select {
		case <-done:
			return context.Cause(ctx)
		default:
		}
	}
	p.mu.Lock()
	if p.hooks != nil {
		e.at = p.timeLocked()
	}
	for {
		if err := p.acceptLocked(); err != nil {
			p.mu.Unlock()
			return err
		}
		if n := len(p.idle); n > 0 {
			if scoped {
				if err := p.enterLocked(&e, ctx); err != nil {
					p.mu.Unlock()
					return err
				}
			}
			w := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.acceptedLocked(true)
			p.mu.Unlock()
			w.ch <- e
			return nil
		}
		if p.workers < p.cfg.workers {
			if scoped {
				if err := p.enterLocked(&e, ctx); err != nil {
					p.mu.Unlock()
					return err
				}
			}
			p.workers++
			p.nextID++
			w := &worker{id: p.nextID, ch: make(chan entry, 1), first: e}
			p.acceptedLocked(true)
			p.mu.Unlock()
			if err := p.ants.Invoke(w); err != nil {
				// Only if ants is closed, which happens after the last worker
				// exited and the pool was closed: undo, keeping hooks balanced.
				p.hooks.OnFinished(Finish{Outcome: OutcomeStopped})
				p.mu.Lock()
				p.workers--
				p.running--
				if e.s != nil {
					p.leaveLocked(e.s)
				}
				p.checkDoneLocked()
				p.mu.Unlock()
				return fmt.Errorf("%w: %w", ErrShutdown, err)
			}
			return nil
		}
		if p.cfg.queueLimit == 0 || p.queue.Len() < p.cfg.queueLimit {
			if scoped {
				if err := p.enterLocked(&e, ctx); err != nil {
					p.mu.Unlock()
					return err
				}
			}
			p.acceptedLocked(false)
			p.queue.Push(e)
			if e.s != nil {
				p.queuedLocked(e.s)
			}
			p.mu.Unlock()
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

// acceptedLocked counts a task accepted, and taken at once by a worker if
// taken. Without own counts it also calls Submitted, under the lock and
// before a worker can see the task, so that Started never precedes it.
func (p *GoPool) acceptedLocked(taken bool) {
	p.submitted++
	if taken {
		p.running++
	}
	if !p.own {
		p.hooks.OnSubmitted()
	}
}

// counts implements the read function of Hooks.Own.
func (p *GoPool) counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Counts{Submitted: p.submitted, Queued: p.queue.Len(), Running: p.running}
}

// fastArrivals is the mean gap between scheduled tasks below which timing
// every task would cost too much: three clock reads take about 150ns.
const fastArrivals = 5 * time.Microsecond

// timeLocked returns p.now() if the task being scheduled is to be timed for
// the hooks, else 0. It times every task while tasks
// arrive more than fastArrivals apart on average; when they come faster, it
// doubles the interval between timed tasks, up to Hooks.TimeEvery, and halves
// it again when they slow down.
func (p *GoPool) timeLocked() int64 {
	limit := p.hooks.TimeEvery
	if limit <= 1 {
		return p.now()
	}
	p.sinceTimed++
	if p.sinceTimed < p.timeEvery {
		return 0
	}
	now := p.now()
	if time.Duration(now-p.lastTimed) < time.Duration(p.sinceTimed)*fastArrivals {
		p.timeEvery = min(max(2*p.timeEvery, 2), limit)
	} else {
		p.timeEvery = max(p.timeEvery/2, 1)
	}
	p.sinceTimed = 0
	p.lastTimed = now
	return now
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

// stage is where a worker is, for died: what it holds if its goroutine
// ends without returning from loop.
type stage uint8

const (
	stageHeld     stage = iota // holds a task, not running, whose Finished is not yet called
	stageInit                  // in the initializer, which fails the tasks itself
	stageTask                  // in a task's Run
	stageFinished              // holds a task whose Finished is called
	stageExit                  // exiting: holds nothing, counted gone in workerGone
	stageReturned              // returning from loop
)

// loop is a worker's life, run on an ants goroutine. A task, the
// initializer or a hook may end the goroutine without returning, by
// runtime.Goexit (or, for a hook, a panic): st, a deferred "returned
// normally" flag that says where it was, lets died account for it.
func (p *GoPool) loop(w *worker) {
	e, st := w.first, stageHeld
	defer func() {
		if st != stageReturned {
			p.died(w, e, st, recover())
		}
	}()
	p.hooks.OnWorkerStarted()
	if ce := p.log.Check(zap.DebugLevel, "worker started"); ce != nil { // no allocation when off
		ce.Write(zap.Int("worker", w.id))
	}
	if p.cfg.init != nil {
		st = stageInit
		if err := p.initWorker(w); err != nil {
			st = stageExit
			p.workerGone(w, ExitInitError)
			st = stageReturned
			return
		}
	}
	w.first = entry{}
	for {
		st = stageHeld
		p.run(e, &st)
		var reason WorkerExit
		if e, reason = p.next(w, e.s); e.t == nil {
			st = stageExit
			p.workerGone(w, reason)
			st = stageReturned
			return
		}
	}
}

// died accounts for a worker whose goroutine ended in stage s, holding e,
// without returning from loop: a task, the initializer or a hook called
// runtime.Goexit (v is nil; the goroutine is ending), or a hook panicked (v
// is the value, recovered: the ants goroutine lives on). It finishes the
// task in hand unless it is finished, keeps the hooks balanced, counts the
// worker gone and starts a new one for the work still queued.
func (p *GoPool) died(w *worker, e entry, s stage, v any) {
	var cause *PanicError
	switch {
	case v != nil:
		cause = &PanicError{Value: v, Stack: debug.Stack()}
		p.log.Error("worker panicked outside a task", zap.Int("worker", w.id), zap.Any("panic", v))
	case s == stageInit: // initWorker has failed the tasks and logged
	default:
		where := "executor hook"
		if s == stageTask {
			where = "task"
		}
		cause = goexitError(where)
		p.log.Warn("worker goroutine ended by runtime.Goexit", zap.Int("worker", w.id), zap.Error(cause))
	}
	switch s {
	case stageHeld:
		p.fail(e, cause)
	case stageTask:
		_ = e.t.Fail(cause) // nothing to do if Run failed it on a Goexit
		p.hooks.OnFinished(Finish{Outcome: OutcomePanic, Ran: true, Run: -1})
	case stageExit: // in workerGone, which counted it gone
		return
	}
	var next *worker
	p.mu.Lock()
	if s != stageInit { // else initWorker counted its task done
		p.running--
		if e.s != nil {
			p.leaveLocked(e.s)
		}
	}
	p.workers--
	p.holds++ // until the hook below has returned
	if p.broken == nil {
		// Work queues only while every worker is busy: none is idle to take it.
		if q, ok := p.queue.Pop(); ok {
			if q.s != nil {
				q.s.queued--
			}
			p.roomLocked()
			p.workers++
			p.running++
			p.nextID++
			next = &worker{id: p.nextID, ch: make(chan entry, 1), first: q}
		}
	}
	p.mu.Unlock()
	defer p.unhold()
	if next != nil {
		defer p.start(next) // after the hook, even if it panics
	}
	reason := ExitCrashed
	if s == stageInit {
		reason = ExitInitError
	}
	if ce := p.log.Check(zap.DebugLevel, "worker stopped"); ce != nil {
		ce.Write(zap.Int("worker", w.id), zap.String("reason", string(reason)))
	}
	p.hooks.OnWorkerStopped(reason)
}

// start runs w, already counted in p.workers and p.running, on an ants
// goroutine. It may be called from a worker that is dying: see NewGoPool.
func (p *GoPool) start(w *worker) {
	if err := p.ants.Invoke(w); err != nil {
		// Only once ants is released, which waits for w: stay balanced anyway.
		p.fail(w.first, fmt.Errorf("%w: %w", ErrShutdown, err))
		p.mu.Lock()
		p.workers--
		p.running--
		if w.first.s != nil {
			p.leaveLocked(w.first.s)
		}
		p.checkDoneLocked()
		p.mu.Unlock()
	}
}

// initWorker runs the initializer. If it fails, panics or calls
// runtime.Goexit, the pool is broken: the task that started the worker and
// the queued ones fail, here, before the goroutine goes on exiting.
func (p *GoPool) initWorker(w *worker) (err error) {
	returned := false
	defer func() {
		if !returned {
			if v := recover(); v != nil {
				err = &PanicError{Value: v, Stack: debug.Stack()}
			} else {
				err = goexitError("initializer")
			}
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
		p.running-- // w.first
		if w.first.s != nil {
			p.leaveLocked(w.first.s)
		}
		queued := p.drainLocked()
		p.wakeLocked()
		p.mu.Unlock()
		p.fail(w.first, broken)
		for _, e := range queued {
			p.fail(e, broken)
		}
	}()
	err = p.cfg.init(p.runCtx)
	returned = true
	return err
}

// fail completes a task that will not run.
func (p *GoPool) fail(e entry, err error) { p.failAs(e, err, OutcomeOf(err)) }

// failAs is fail with the outcome for the hooks given.
func (p *GoPool) failAs(e entry, err error, o Outcome) {
	if e.t.Fail(err) {
		p.hooks.OnFinished(Finish{Outcome: o})
	} else {
		p.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
	}
}

// run runs e, which it holds in stage stageHeld, and keeps *st up to date
// for died.
func (p *GoPool) run(e entry, st *stage) {
	ctx := p.ctxOf(e)
	if ctx.Err() != nil { // it ended before the task started: skip it
		*st = stageFinished
		p.failAs(e, context.Cause(ctx), ctxOutcome(ctx))
		return
	}
	if !e.t.Start() {
		*st = stageFinished
		p.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
		return
	}
	if p.hooks == nil {
		*st = stageTask
		_ = e.t.Run(ctx)
		return
	}
	if e.at == 0 { // not sampled: see Hooks.TimeEvery
		if !p.own {
			p.hooks.OnStarted(-1)
		}
		*st = stageTask
		var o Outcome // OutcomeOK
		err := e.t.Run(ctx)
		if err != nil {
			o = OutcomeOf(err)
		}
		*st = stageFinished
		p.hooks.OnFinished(Finish{Outcome: o, Ran: true, Run: -1, Err: err})
		return
	}
	start := p.now()
	p.hooks.OnStarted(time.Duration(start - e.at))
	*st = stageTask
	err := e.t.Run(ctx)
	*st = stageFinished
	p.hooks.OnFinished(Finish{Outcome: OutcomeOf(err), Ran: true, Run: time.Duration(p.now() - start), Err: err})
}

// next counts the task the worker ran (of scope ran, if not nil) finished
// and returns the worker's next task, waiting while idle; an entry with a
// nil task means the worker must exit, for the reason returned.
func (p *GoPool) next(w *worker, ran *scope) (entry, WorkerExit) {
	p.mu.Lock()
	if ran != nil {
		p.leaveLocked(ran)
	}
	if e, ok := p.queue.Pop(); ok {
		if e.s != nil {
			e.s.queued--
		}
		p.roomLocked()
		p.mu.Unlock()
		return e, ""
	}
	p.running-- // the task it ran; Schedule counts the next one it hands over
	if p.closed || p.broken != nil {
		p.mu.Unlock()
		return entry{}, ExitShutdown
	}
	w.idleAt = p.ticks.Load()
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	// No timer here: this is the hot path. The reaper expires idle workers.
	e := <-w.ch
	return e, w.exit
}

// now returns the nanoseconds since p.epoch on the monotonic clock, plus
// one so that it is never 0 (an entry's "not timed").
func (p *GoPool) now() int64 { return int64(time.Since(p.epoch)) + 1 }

// reap expires idle workers. It ticks every half idle timeout and tells a
// worker to exit once it has been idle for three ticks, so a worker exits
// after between one and one and a half idle timeouts.
func (p *GoPool) reap() {
	defer close(p.reaped)
	tick := time.NewTicker(max(p.cfg.idleTimeout/2, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stopReap:
			return
		case <-tick.C:
		}
		now := p.ticks.Add(1)
		p.mu.Lock()
		// idle is a stack: the longest idle are at the bottom.
		n := 0
		for n < len(p.idle) && now-p.idle[n].idleAt >= 3 {
			w := p.idle[n]
			w.exit = ExitIdle
			w.ch <- entry{}
			n++
		}
		if n > 0 {
			k := copy(p.idle, p.idle[n:])
			clear(p.idle[k:])
			p.idle = p.idle[:k]
		}
		p.mu.Unlock()
	}
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
		w.exit = ExitShutdown
		w.ch <- entry{}
	}
	p.idle = nil
	p.roomLocked()
}

// workerGone counts w gone, then calls the WorkerStopped hook, which thus
// never sees w in Stats; the pool is not released before the hook returns.
func (p *GoPool) workerGone(w *worker, reason WorkerExit) {
	p.mu.Lock()
	p.workers--
	p.holds++
	p.mu.Unlock()
	defer p.unhold()
	if ce := p.log.Check(zap.DebugLevel, "worker stopped"); ce != nil {
		ce.Write(zap.Int("worker", w.id), zap.String("reason", string(reason)))
	}
	p.hooks.OnWorkerStopped(reason)
}

// checkDoneLocked starts releasing the pool once it is closed, its last
// worker has exited and no call it waits for (p.holds) is still at work:
// from then on nothing uses what the pool holds.
func (p *GoPool) checkDoneLocked() {
	if p.closed && p.workers == 0 && p.holds == 0 && !p.releasing {
		p.releasing = true
		go p.releaseAll()
	}
}

// releaseAll releases what the pool holds: it stops the reaper, cancels the
// tasks' context, releases ants' goroutines and the hooks' registration
// (Hooks.Own), whether or not a Shutdown or Stop call waits. It runs on a
// goroutine of its own because the last worker exits on an ants goroutine,
// inside loop, and ants' ReleaseContext waits for every ants goroutine to
// end. That wait is short: no task is left to run.
func (p *GoPool) releaseAll() {
	defer close(p.released)
	close(p.stopReap)
	<-p.reaped
	p.mu.Lock()
	p.releaseIdleLocked()
	p.mu.Unlock()
	p.stopRun(ErrShutdown)
	if err := p.ants.ReleaseContext(context.Background()); err != nil && !errors.Is(err, ants.ErrPoolClosed) {
		p.relErr = fmt.Errorf("executor: releasing goroutines: %w", err)
		p.log.Error("releasing goroutines failed", zap.Error(err))
	}
	if p.release != nil {
		p.release()
	}
	p.log.Info("shutdown done")
}

// unhold ends one of p.holds. It is deferred, so that the pool is still
// released if a hook or a done-callback run on the way panics or calls
// runtime.Goexit.
func (p *GoPool) unhold() {
	p.mu.Lock()
	p.holds--
	p.checkDoneLocked()
	p.mu.Unlock()
}

// Shutdown implements Executor: no new work; queued and running work
// finishes (or, with CancelPending, queued work is cancelled); it waits for
// the workers to exit and the goroutines to be released, until ctx ends. If
// ctx ends first, the pool still releases its goroutines by itself once its
// last task has returned.
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
		cancelled = p.drainLocked()
	}
	p.wakeLocked()
	p.holds++
	p.mu.Unlock()
	if first {
		p.log.Info("shutdown begun", zap.Bool("cancel_pending", sc.CancelPending))
	}
	p.cancelQueued(cancelled)
	return p.wait(ctx)
}

func (p *GoPool) cancelQueued(queued []entry) {
	defer p.unhold()
	for _, e := range queued {
		e.t.Cancel()
		p.hooks.OnFinished(Finish{Outcome: OutcomeCancelled})
	}
}

// Stop implements Executor: queued work fails with ErrStopped, the context of
// running tasks is cancelled with cause ErrStopped (whatever ctx they were
// scheduled with, context.WithoutCancel included), and it waits for the
// running tasks to return, until ctx ends. Goroutines cannot be killed: a task
// that ignores its context keeps its worker until it returns; the pool then
// releases its goroutines by itself, as after Shutdown.
func (p *GoPool) Stop(ctx context.Context) error {
	if ctx == nil {
		panic("executor: nil Context")
	}
	p.mu.Lock()
	p.closed = true
	queued := p.drainLocked()
	scopes := p.scopesLocked()
	p.wakeLocked()
	p.holds++
	p.mu.Unlock()
	p.stopQueued(queued, scopes)
	return p.wait(ctx)
}

func (p *GoPool) stopQueued(queued []entry, scopes []*scope) {
	defer p.unhold()
	p.stopRun(ErrStopped)
	for _, s := range scopes {
		s.cancel(ErrStopped)
	}
	err := fmt.Errorf("%w before it started", ErrStopped)
	for _, e := range queued {
		p.fail(e, err)
	}
}

// wait waits until the pool is released or ctx ends.
func (p *GoPool) wait(ctx context.Context) error {
	select {
	case <-p.released: // already: even if ctx has ended
		return p.relErr
	default:
	}
	select {
	case <-p.released:
		return p.relErr
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
