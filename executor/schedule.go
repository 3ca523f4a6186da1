package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/gofutures/gofutures/executor/driver"
)

// Schedule implements Executor. It takes the pool's lock once; with a ctx
// that can be cancelled it first checks that ctx has not ended.
//
// The task goes to the back of the queue, and if no worker is on its way
// there, one is found for it (spinLocked). Only a bounded queue that is
// full takes the older way: the task is handed straight to an idle worker,
// or to a new one, or else Schedule waits or fails.
func (p *GoPool) Schedule(ctx context.Context, t driver.Task) error {
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
	room, err := p.waitRoomLocked(ctx)
	if err != nil {
		return err
	}
	if scoped {
		if err := p.enterLocked(&e, ctx); err != nil {
			p.mu.Unlock()
			return err
		}
	}
	if room {
		p.acceptedLocked(false)
		p.queue.push(e)
		w := p.spinLocked()
		if e.s != nil {
			p.queuedLocked(e.s, w != nil || p.spinning > 0)
		}
		p.mu.Unlock()
		p.signal(w)
		return nil
	}
	return p.handOverLocked(e)
}

// waitRoomLocked waits, while a bounded queue is full and no worker is idle or
// can start, for room (or fails at once with WithFailFast), and reports
// whether the queue has room; false means the task is to be handed to a
// worker directly. On error p.mu is released; otherwise it is held.
func (p *GoPool) waitRoomLocked(ctx context.Context) (room bool, err error) {
	for {
		if err := p.acceptLocked(); err != nil {
			p.mu.Unlock()
			return false, err
		}
		// Tasks that spinning workers are about to take do not count
		// against the bound: without them, they would be in the workers'
		// hands already.
		room = p.cfg.queueLimit == 0 || p.queue.len() < p.cfg.queueLimit+p.spinning
		if room || len(p.idle) > 0 || p.workers < p.cfg.workers {
			return room, nil
		}
		if p.cfg.failFast {
			p.mu.Unlock()
			return false, fmt.Errorf("%w (%d tasks waiting)", ErrOverloaded, p.cfg.queueLimit)
		}
		if p.notFull == nil {
			p.notFull = make(chan struct{})
		}
		wait := p.notFull
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return false, context.Cause(ctx)
		}
		p.mu.Lock()
	}
}

// handOverLocked gives e, which a full bounded queue cannot take, straight
// to an idle worker or to a new one. It releases p.mu.
func (p *GoPool) handOverLocked(e entry) error {
	p.acceptedLocked(true)
	if len(p.idle) > 0 {
		w := p.popIdleLocked()
		w.task = e
		p.mu.Unlock()
		p.signal(w)
		return nil
	}
	w := p.newWorkerLocked()
	w.task = e
	p.mu.Unlock()
	if err := p.launch(w); err != nil {
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

// spinLocked keeps the promise that a queued task never waits for a busy
// worker while another worker is idle or could start: if tasks are queued
// and no worker is on its way to the queue, it takes the most recently
// idle worker, or makes a new one if fewer than the maximum are alive, and
// counts it spinning; the caller hands it to signal once the lock is
// released. Each spinning worker, once it has taken a task, calls it again,
// so a burst wakes workers one after another, only as fast as they get to
// run, while the workers already running drain the queue. With an
// initializer, a new worker is not counted spinning (its initializer may
// take long): each task scheduled meanwhile starts another, up to the
// maximum. When no worker can come, the tasks queued wait for busy ones:
// their contexts are watched from then on (watchQueuedLocked).
func (p *GoPool) spinLocked() *worker {
	if p.spinning > 0 || p.queue.len() == 0 {
		return nil
	}
	var w *worker
	switch {
	case len(p.idle) > 0:
		w = p.popIdleLocked()
	case p.workers < p.cfg.workers:
		w = p.newWorkerLocked()
		if p.cfg.init != nil {
			return w
		}
	default:
		p.watchQueuedLocked()
		return nil
	}
	w.spin = true
	p.spinning++
	return w
}

// popIdleLocked takes the most recently idle worker.
func (p *GoPool) popIdleLocked() *worker {
	n := len(p.idle)
	w := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return w
}

// newWorkerLocked counts a new worker alive and returns it, to be started
// by signal (or launch) once the lock is released.
func (p *GoPool) newWorkerLocked() *worker {
	p.workers++
	p.nextID++
	return &worker{id: p.nextID, wake: make(chan struct{}, 1), fresh: true}
}

// signal wakes w, taken from p.idle, or starts it if it is new; w may be
// nil. The fields w acts on were set under the lock, before.
func (p *GoPool) signal(w *worker) {
	switch {
	case w == nil:
	case w.fresh:
		p.start(w)
	default:
		w.wake <- struct{}{}
	}
}

// queuedLocked counts a task of s just pushed on the queue, and makes sure
// that the end of s's parent removes it from there at once if it is to
// wait for a busy worker. While a worker is on its way to the queue
// (coming), the watch is put off (a context.AfterFunc, which a ctx per task
// would pay per task): that worker skips a task whose ctx has ended, and
// the watch is made if the worker finds tasks left behind it and no other
// can come.
func (p *GoPool) queuedLocked(s *scope, coming bool) {
	s.queued++
	switch {
	case s.unwatch != nil || s.parent.Done() == nil:
	case coming:
		p.unwatched++
	default:
		p.watchLocked(s)
	}
}

// watchLocked watches s's parent, so that its end removes s's queued tasks.
func (p *GoPool) watchLocked(s *scope) {
	if s.unwatch == nil && s.parent.Done() != nil {
		// Runs f in a goroutine of its own when parent ends, at once if it
		// has ended already; never with p.mu held.
		s.unwatch = context.AfterFunc(s.parent, s.parentDone)
	}
}

// watchQueuedLocked watches the contexts of the queued tasks whose watch
// was put off (see queuedLocked), now that they wait for busy workers.
func (p *GoPool) watchQueuedLocked() {
	if p.unwatched == 0 {
		return
	}
	p.unwatched = 0
	p.queue.eachScope(p.watchLocked)
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

func (p *GoPool) acceptLocked() error {
	if p.broken != nil {
		return p.broken
	}
	if p.closed {
		return ErrShutdown
	}
	return nil
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

// roomLocked wakes Schedule calls blocked on a full queue.
func (p *GoPool) roomLocked() {
	if p.notFull != nil {
		close(p.notFull)
		p.notFull = nil
	}
}
