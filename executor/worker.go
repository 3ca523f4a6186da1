package executor

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gofutures/gofutures/internal/zlog"
	"go.uber.org/zap/zapcore"
)

// worker is one goroutine's loop. An idle worker waits for one signal on
// wake; whoever sends it takes the worker out of GoPool.idle and, before
// sending, under the pool's lock, says what the worker is to do: take
// task, handed over; or take a task from the queue (spin); or exit (exit).
type worker struct {
	id     int
	wake   chan struct{} // buffered 1
	task   entry         // the task handed over (or the first one), if any
	spin   bool          // counted in GoPool.spinning; guarded by p.mu
	fresh  bool          // not started yet: signal starts it
	exit   WorkerExit    // why to exit, if it is to exit
	idleAt int64         // p.ticks when it went idle; guarded by p.mu
}

// stage is where a worker is, for died: what it holds if its goroutine
// ends without returning from loop.
type stage uint8

const (
	stageFree     stage = iota // holds no task
	stageHeld                  // holds a task, not running, whose Finished is not yet called
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
	e, st := w.task, stageFree
	w.task = entry{}
	if e.t != nil {
		st = stageHeld
	}
	defer func() {
		if st != stageReturned {
			p.died(w, e, st, recover())
		}
	}()
	p.hooks.OnWorkerStarted()
	if ce := p.log.Check(zapcore.DebugLevel, "worker started"); ce != nil { // no allocation when off
		ce.Write(zlog.Int("worker", w.id))
	}
	if p.cfg.init != nil {
		st = stageInit
		if err := p.initWorker(w, e); err != nil {
			st = stageExit
			p.workerGone(w, ExitInitError)
			st = stageReturned
			return
		}
		st = stageFree
		if e.t != nil {
			st = stageHeld
		}
	}
	for {
		if e.t != nil {
			p.run(e, &st)
		}
		var reason WorkerExit
		if e, reason = p.next(w, e); e.t == nil {
			st = stageExit
			p.workerGone(w, reason)
			st = stageReturned
			return
		}
		st = stageHeld
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
		*st = stageFinished
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

// next counts ran, the task the worker ran (if any: a worker that was
// started or woken to take a task from the queue ran none), finished, and
// returns the worker's next task, waiting while idle; an entry with a nil
// task means the worker must exit, for the reason returned.
func (p *GoPool) next(w *worker, ran entry) (entry, WorkerExit) {
	held := ran.t != nil // counted in p.running
	p.mu.Lock()
	if ran.s != nil {
		p.leaveLocked(ran.s)
	}
	for {
		if w.spin {
			w.spin = false
			p.spinning--
		}
		if e, ok := p.queue.pop(); ok {
			if e.s != nil {
				e.s.queued--
			}
			p.roomLocked()
			if !held {
				p.running++
			}
			more := p.spinLocked() // tasks left behind this one
			p.mu.Unlock()
			p.signal(more)
			return e, ""
		}
		p.unwatched = 0
		if held {
			p.running-- // the task it ran; whoever hands it a task counts that one
			held = false
		}
		if p.closed || p.broken != nil {
			p.mu.Unlock()
			return entry{}, ExitShutdown
		}
		w.idleAt = p.ticks.Load()
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		// No timer here: this is the hot path. The reaper expires idle workers.
		<-w.wake
		if w.exit != "" {
			return entry{}, w.exit
		}
		if e := w.task; e.t != nil { // handed over, counted in p.running
			w.task = entry{}
			return e, ""
		}
		p.mu.Lock() // woken to spin
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
		p.log.Error("worker panicked outside a task", zlog.Int("worker", w.id), zlog.Any("panic", v))
	case s == stageInit: // initWorker has failed the tasks and logged
	default:
		where := "executor hook"
		if s == stageTask {
			where = "task"
		}
		cause = goexitError(where)
		p.log.Warn("worker goroutine ended by runtime.Goexit", zlog.Int("worker", w.id), zlog.Error(cause))
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
	var next, more *worker
	p.mu.Lock()
	if s != stageInit && e.t != nil { // else initWorker counted its task done
		p.running--
		if e.s != nil {
			p.leaveLocked(e.s)
		}
	}
	if w.spin {
		w.spin = false
		p.spinning--
	}
	p.workers--
	p.holds++ // until the hook below has returned
	if p.broken == nil {
		// Queued work has a worker on its way or waits for a busy one:
		// this worker was one of those, so its replacement takes the next.
		if q, ok := p.queue.pop(); ok {
			if q.s != nil {
				q.s.queued--
			}
			p.roomLocked()
			p.running++
			next = p.newWorkerLocked()
			next.task = q
			more = p.spinLocked()
		}
	}
	p.mu.Unlock()
	p.signal(more)
	defer p.unhold()
	if next != nil {
		defer p.start(next) // after the hook, even if it panics
	}
	reason := ExitCrashed
	if s == stageInit {
		reason = ExitInitError
	}
	if ce := p.log.Check(zapcore.DebugLevel, "worker stopped"); ce != nil {
		ce.Write(zlog.Int("worker", w.id), zlog.String("reason", string(reason)))
	}
	p.hooks.OnWorkerStopped(reason)
}

// start runs w, new and already counted in p.workers (and, with its task,
// in p.running; without, maybe in p.spinning), on an ants goroutine. It
// may be called from a worker that is dying: see NewGoPool.
func (p *GoPool) start(w *worker) {
	e := w.task
	if err := p.launch(w); err != nil {
		// Only once ants is released, which waits for every worker: stay
		// balanced anyway.
		if e.t != nil {
			p.fail(e, fmt.Errorf("%w: %w", ErrShutdown, err))
		}
		p.mu.Lock()
		p.workers--
		if w.spin {
			w.spin = false
			p.spinning--
		}
		if e.t != nil {
			p.running--
			if e.s != nil {
				p.leaveLocked(e.s)
			}
		}
		p.checkDoneLocked()
		p.mu.Unlock()
	}
}

// launch runs loop(w) on an ants goroutine: w is started, and from then on
// signal wakes it instead.
func (p *GoPool) launch(w *worker) error {
	w.fresh = false
	return p.ants.Invoke(w)
}

// initWorker runs the initializer, w holding e (maybe none). If it fails,
// panics or calls runtime.Goexit, the pool is broken: e and the queued
// tasks fail, here, before the goroutine goes on exiting.
func (p *GoPool) initWorker(w *worker, e entry) (err error) {
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
		p.log.Error("initializer failed; executor broken", zlog.Int("worker", w.id), zlog.Error(err))
		p.mu.Lock()
		if p.broken == nil {
			p.broken = broken
		}
		if e.t != nil {
			p.running--
			if e.s != nil {
				p.leaveLocked(e.s)
			}
		}
		queued := p.drainLocked()
		p.wakeLocked()
		p.mu.Unlock()
		if e.t != nil {
			p.fail(e, broken)
		}
		for _, q := range queued {
			p.fail(q, broken)
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
