package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/internal/remotecall"
	"github.com/gofutures/gofutures/internal/ring"
	"github.com/gofutures/gofutures/internal/spawn"
	"github.com/gofutures/gofutures/internal/zlog"
)

// maxStartFailures is how many helpers in a row may fail to start (or to
// initialise) before the pool is broken; maxStartKills, how many in a row may
// be killed by a signal from outside before their handshake (which says
// nothing about the binary: the OOM killer, an operator).
const (
	maxStartFailures = 3
	maxStartKills    = 10
)

// Executor runs registered functions in helper processes: Python's
// ProcessPoolExecutor for Go. It implements executor.Executor, so
// executor.Call, executor.CallChunk and package pool work on it unchanged.
//
// Tasks wait in the pool's FIFO queue and are sent, several at a time, to the
// helpers, which run them one after the other. A helper that dies fails only
// the task it was running (with a *WorkerError); the tasks queued behind it go
// back to the front of the queue, and a new helper takes its place. The pool
// is broken (every queued and later task fails with executor.ErrBroken) only
// when helpers cannot be started or their initializer keeps failing.
//
// Scheduling never blocks. An Executor must be shut down (Shutdown or Stop) to
// stop its helpers. All methods are safe for concurrent use.
type Executor struct {
	callRunner // RunCall, for package cluster
	cfg        config
	reg        *Registry
	log        *zlog.Logger
	path       string
	last       atomic.Pointer[funcRef] // see lookup
	sp         *spawn.Spawner          // helpers die with this thread (Pdeathsig)

	mu         sync.Mutex
	queue      ring.Ring[*job]
	workers    []*worker // alive or starting
	nextWorker int
	closed     bool          // Shutdown, Stop, or broken
	closing    chan struct{} // closed when closed is set: see Closing
	stopped    bool          // Stop
	broken     error         // wraps executor.ErrBroken
	startFails int           // helpers in a row that failed to start
	startKills int           // helpers in a row killed from outside before their handshake
	grown      bool          // all WithWorkers helpers have been started (growLocked)
	backoff    time.Duration // delay before replacing a helper that died young
	stopCh     chan struct{} // closed by Stop
	// testCancelsSent, set before the pool is used (export_test.go), is
	// called when cancel frames have been written to a helper.
	testCancelsSent func(n int)
	// testDepth, when > 0 (export_test.go), is the pipeline depth of every
	// helper, whatever the run times measured; testCallsSent is called with
	// the number of calls in a write to a helper, just before the write.
	testDepth     int
	testCallsSent func(n int)
	allDone       chan struct{}
	doneOnce      sync.Once
	doneLog       sync.Once
}

var _ executor.Executor = (*Executor)(nil)

// callRunner gives an Executor the method of remotecall.Runner (RunCall)
// without documenting it as its own.
type callRunner = remotecall.Runner

// New starts a pool of helper processes running the functions of reg and
// returns it without waiting for the helpers to be ready (tasks wait in the
// queue meanwhile). It starts one helper; the others, up to WithWorkers,
// start as tasks wait that the helpers still starting will not take, or
// all at once when the first one is ready. By default each helper is this
// program itself, started again: its main must call ServeIfHelper(reg)
// first. New fails if an option is invalid, the helper binary cannot be
// found, or the initializer is not in reg, and it refuses to run in a
// process that an Executor started as its helper whose main did not call
// ServeIfHelper first (each such helper would start a pool of its own).
// The helpers run until the Executor is shut down: call Shutdown or Stop
// when done with it, typically with defer (a helper also exits when this
// process dies).
func New(reg *Registry, opts ...Option) (*Executor, error) {
	if startedAsHelper() {
		fmt.Fprintln(os.Stderr, errInHelper)
		return nil, errInHelper
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var path string
	var err error
	if cfg.path == "" {
		path, err = os.Executable()
	} else {
		path, err = exec.LookPath(cfg.path)
	}
	if err != nil {
		return nil, fmt.Errorf("process: helper binary: %w", err)
	}
	if cfg.init != nil && reg.lookup(cfg.init.name) == nil {
		return nil, fmt.Errorf("process: initializer %q: %w", cfg.init.name, ErrNotRegistered)
	}
	p := &Executor{cfg: cfg, reg: reg, path: path, allDone: make(chan struct{}), stopCh: make(chan struct{}), closing: make(chan struct{})}
	p.callRunner = remotecall.NewRunner(p.runCall)
	p.log = cfg.logger.With(zlog.String("executor", cfg.name))
	p.sp = spawn.New()
	p.mu.Lock()
	p.spawnLocked(0) // and the others as tasks wait for them, or once it is ready (growLocked)
	p.mu.Unlock()
	return p, nil
}

// Workers returns the number of helper processes, which is the maximum number
// of tasks that run at once.
func (p *Executor) Workers() int { return p.cfg.workers }

// Pids returns the process ids of the helpers that are ready now. It
// takes the pool's lock briefly.
func (p *Executor) Pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, w := range p.workers {
		if w.ready && !w.dead {
			pids = append(pids, w.pid)
		}
	}
	return pids
}

// Hooks returns the hooks the pool calls (WithHooks), so that work done
// around the pool, as retries (executor.Retry), is counted with the pool's.
// It does not block.
func (p *Executor) Hooks() *executor.Hooks { return p.cfg.hooks }

// Schedule implements executor.Executor. It never blocks. A task whose
// Remote is nil (a Go closure, or a function wrapped by executor.Fn) is
// rejected with an error wrapping executor.ErrNotRemote; a Named function
// that is not in the pool's registry with the same types, with an error
// wrapping both executor.ErrNotRemote and ErrNotRegistered. It returns an
// error wrapping executor.ErrShutdown after Shutdown or Stop, or
// executor.ErrBroken once broken. It costs one allocation.
func (p *Executor) Schedule(ctx context.Context, t driver.Task) error {
	r, err := remotecall.RemoteOf("process", ctx, t)
	if err != nil {
		return err
	}
	args := r.Args()
	if e := p.lookup(r.FuncName()); e == nil || !e.accepts(args, r) {
		return fmt.Errorf("%w: %w: %q with argument %T", executor.ErrNotRemote, ErrNotRegistered, r.FuncName(), args)
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	j := &job{t: t, r: r, args: args}
	if p.cfg.hooks != nil {
		j.times = &jobTimes{at: time.Now()}
	}
	p.mu.Lock()
	if err := p.acceptLocked(); err != nil {
		p.mu.Unlock()
		return err
	}
	if ctx.Done() != nil {
		j.ctx = ctx
		j.stop = context.AfterFunc(ctx, func() { p.ctxEnded(j) })
	}
	p.queue.Push(j)
	if !p.grown {
		p.growLocked(false)
	}
	p.wakeLocked()
	p.mu.Unlock()
	p.cfg.hooks.OnSubmitted()
	return nil
}

// lookup is p.reg.lookup that remembers the last function found: the tasks
// submitted one after another are mostly of one function, and a registered
// name never changes function.
func (p *Executor) lookup(name string) entry {
	if l := p.last.Load(); l != nil && l.name == name {
		return l.e
	}
	e := p.reg.lookup(name)
	if e != nil {
		p.last.Store(e.ref())
	}
	return e
}

// wakeLocked wakes the parked writer of the least loaded helper that is
// hungry (see hungryLocked), if any. A helper whose pipeline is fuller is
// woken by its replies once it is half empty (replied), and then takes
// what was queued meanwhile in one write.
func (p *Executor) wakeLocked() {
	var best *worker
	for _, w := range p.workers {
		if w.parked && w.hungryLocked() && (best == nil || w.inflight.Len() < best.inflight.Len()) {
			best = w
		}
	}
	if best != nil {
		best.wakeLocked()
	}
}

// shareLocked returns how many queued tasks w may take now: its fair share of
// the queued and running work, so that a few long tasks are spread over the
// helpers instead of piling up on the first one to wake.
func (p *Executor) shareLocked(w *worker) int {
	total, alive := p.queue.Len(), 0
	for _, x := range p.workers { // starting ones too: they take their share once ready
		if !x.dead && !x.retiring {
			total += x.inflight.Len()
			alive++
		}
	}
	if alive == 0 {
		return 0
	}
	return (total+alive-1)/alive - w.inflight.Len()
}

func (p *Executor) acceptLocked() error {
	if p.broken != nil {
		return p.broken
	}
	if p.closed {
		return executor.ErrShutdown
	}
	return nil
}

// spawnLocked adds a worker and starts its helper in the background, after
// delay.
func (p *Executor) spawnLocked(delay time.Duration) {
	p.nextWorker++
	w := newWorker(p, p.nextWorker)
	p.workers = append(p.workers, w)
	go w.run(delay)
}

// growLocked starts the helpers New has not started yet: all of them
// (full, once the first helper is ready), or as many as there are queued
// tasks that the helpers still starting will not take. Helpers that boot
// at the same time slow each other down (each one loads and initialises
// the whole program), so a pool that has one task to run starts one
// helper first. Once the pool has started all its helpers (grown), a
// helper that is gone is replaced by gone, as before.
func (p *Executor) growLocked(full bool) {
	if p.closed || p.grown {
		return
	}
	alive, starting := 0, 0 // a dead worker leaves p.workers a little later (gone)
	for _, w := range p.workers {
		if !w.dead {
			alive++
			if !w.ready {
				starting++
			}
		}
	}
	for ; alive < p.cfg.workers && (full || p.queue.Len() > starting); alive++ {
		p.spawnLocked(0)
		starting++
	}
	p.grown = alive >= p.cfg.workers
}

// needWorkerLocked reports whether a worker that is gone should be replaced.
func (p *Executor) needWorkerLocked() bool {
	return !p.stopped && p.broken == nil && (!p.closed || p.queue.Len() > 0)
}

func (p *Executor) removeLocked(w *worker) {
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			return
		}
	}
}

// closeLocked makes the pool refuse new tasks.
func (p *Executor) closeLocked() {
	if !p.closed {
		p.closed = true
		close(p.closing)
	}
}

// Closing returns a channel that is closed when Shutdown or Stop is first
// called, or the pool breaks: from then on it accepts no task. A task
// waiting for its next attempt under a retry policy (executor.NewRetry)
// fails then at once, with a *executor.RetryError that wraps the pool's
// refusal and the last attempt's error.
func (p *Executor) Closing() <-chan struct{} { return p.closing }

// breakLocked breaks the pool with cause and returns the queued jobs to fail.
func (p *Executor) breakLocked(cause error) []*job {
	if p.broken != nil {
		return nil
	}
	p.broken = fmt.Errorf("%w: %w", executor.ErrBroken, cause)
	p.closeLocked()
	for _, w := range p.workers {
		w.wakeLocked()
	}
	return p.drainLocked()
}

func (p *Executor) checkDoneLocked() {
	if p.closed && len(p.workers) == 0 {
		p.doneOnce.Do(func() {
			p.sp.Close()
			close(p.allDone)
		})
	}
}

// fail completes a job that will not run (further) with err.
func (p *Executor) fail(j *job, err error) {
	if j.stop != nil {
		j.stop()
	}
	if j.t.Fail(err) {
		p.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeOf(err), Ran: j.started, Run: p.since(j), Err: err})
	} else {
		p.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeCancelled})
	}
}

// finish completes a job from its helper's reply.
func (p *Executor) finish(j *job, err error, items []error) {
	if j.stop != nil {
		j.stop()
	}
	j.r.Finish(err, items)
	if p.cfg.hooks == nil {
		return
	}
	if err == nil {
		for _, e := range items {
			if e != nil {
				err = e
				break
			}
		}
	}
	p.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeOf(err), Ran: true, Run: p.since(j), Err: err})
}

func (p *Executor) since(j *job) time.Duration {
	if j.times == nil || j.times.runAt.IsZero() {
		return 0
	}
	return time.Since(j.times.runAt)
}

// Shutdown implements executor.Executor: no new work; queued and running
// tasks finish (with CancelPending, queued tasks that have not started are
// cancelled instead; a task already sent ahead to a helper counts as
// started, as in Python, whose call queue holds a task more than there are
// workers: here about a millisecond of work per helper, and for tasks of
// unknown or long run time one); then the helpers are told to exit, and Shutdown waits for them,
// until ctx ends (the shutdown goes on). A helper still starting when
// nothing is queued is killed instead of waited for (it has run nothing),
// unless the pool has an initializer (WithInitializer), which may be running
// there. Idempotent.
func (p *Executor) Shutdown(ctx context.Context, opts ...driver.ShutdownOption) error {
	if ctx == nil {
		panic("process: nil Context")
	}
	sc := driver.ShutdownSettings(opts...)
	var cancelled []*job
	p.mu.Lock()
	first := !p.closed
	p.closeLocked()
	if sc.CancelPending {
		var keep []*job
		for _, j := range p.drainLocked() {
			if j.started { // re-queued after its helper died: it is running
				keep = append(keep, j)
			} else {
				cancelled = append(cancelled, j)
			}
		}
		for _, j := range keep {
			j.taken = false
		}
		p.queue.Requeue(keep)
	}
	for _, w := range p.workers {
		w.wakeLocked()
	}
	p.checkDoneLocked()
	p.mu.Unlock()
	if first {
		p.log.Info("shutdown begun", zlog.Bool("cancel_pending", sc.CancelPending))
	}
	for _, j := range cancelled {
		if j.stop != nil {
			j.stop()
		}
		j.t.Cancel()
		p.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeCancelled})
	}
	return p.wait(ctx)
}

// Stop implements executor.Executor: queued tasks fail with
// executor.ErrStopped, every helper's process group is killed (the tasks they
// were running fail with executor.ErrStopped too), and Stop waits for the
// helpers to be reaped, until ctx ends. Idempotent; it may follow Shutdown.
func (p *Executor) Stop(ctx context.Context) error {
	if ctx == nil {
		panic("process: nil Context")
	}
	p.mu.Lock()
	first := !p.stopped
	if first {
		close(p.stopCh)
	}
	p.closeLocked()
	p.stopped = true
	queued := p.drainLocked()
	workers := append([]*worker(nil), p.workers...)
	p.checkDoneLocked()
	p.mu.Unlock()
	if first {
		p.log.Info("stop: killing helpers", zlog.Int("queued", len(queued)))
	}
	for _, w := range workers {
		w.kill(executor.ExitKilled)
	}
	err := fmt.Errorf("%w before it started", executor.ErrStopped)
	for _, j := range queued {
		p.fail(j, err)
	}
	return p.wait(ctx)
}

func (p *Executor) wait(ctx context.Context) error {
	select {
	case <-p.allDone:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	<-p.sp.Done()
	p.doneLog.Do(func() { p.log.Info("shutdown done") })
	return nil
}

// runCall is the Runner.RunCall of p (see internal/remotecall): it runs a
// call message in one of p's helpers.
func (p *Executor) runCall(ctx context.Context, call []byte) ([]byte, error) {
	f, err := executor.Call(ctx, p, p.reg.serveCall, call)
	if err != nil {
		return nil, err
	}
	reply, err := f.Result(ctx)
	if err != nil && !f.Ready() {
		f.Cancel() // ctx ended: do not start it if it has not started
	}
	return reply, err
}
