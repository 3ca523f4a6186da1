package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/gofutures/gofutures/cluster/internal/wire"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/internal/remotecall"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"go.uber.org/zap"
)

// Executor runs registered functions on workers that pull tasks from a NATS
// JetStream work queue: the cluster counterpart of process.Executor, with the
// same executor.Executor interface, futures and pool API. Without WithURL it
// starts an embedded nats-server in this process.
//
// Schedule publishes the task (asynchronously; the server confirms it stored
// the task, and a task it did not confirm is published again with the same
// id, which the server de-duplicates) and never blocks. A task's future stays
// pending until a worker asks this executor to start it, so Cancel works
// until then and a cancelled task is not run. Results come back to this
// executor only; the first completes the future, later duplicates (from
// redeliveries) are ignored.
//
// The context a task runs with on its worker is derived from the one it was
// scheduled with: its deadline travels with the task, so ctx.Deadline() in
// the worker's function is the caller's, and when the context ends the
// future fails at once with context.Cause(ctx). A task no worker started
// then never runs; a running one has its worker's context cancelled (cause
// context.Canceled or context.DeadlineExceeded), and whatever it returns
// later is ignored. Pass context.WithoutCancel(ctx) for work that must
// outlive the caller.
//
// All methods are safe for concurrent use. An Executor must be shut down
// (Shutdown or Stop) to release its connection, server and processes.
type Executor struct {
	cfg       config
	log       *zap.Logger
	codec     codec
	emb       *embedded // nil with WithURL
	url       string    // where workers connect
	nc        *nats.Conn
	js        jetstream.JetStream
	sid       string
	subj      string // tasks subject
	ackPrefix string // the server's confirmations of stored tasks arrive on ackPrefix<seq>
	cancelSub string // where cancel messages for this executor's running tasks go
	subs      []*nats.Subscription
	procs     *procs

	mu       sync.Mutex
	tasks    map[uint64]*entry
	unstored map[uint64]*entry // published, not yet confirmed by the server
	seq      uint64
	closed   bool
	closing  chan struct{} // closed when closed is set: see Closing
	stopped  bool
	idle     chan struct{} // closed when closed and no task is left
	retry    []*entry      // tasks to publish again
	wake     chan struct{} // buffered 1: retry has work

	auditAge time.Duration // see audit.go
	stats    clusterStats  // see presence.go

	quit     chan struct{} // closed by Stop: abandon the wait for idle
	quitOnce sync.Once
	torn     chan struct{} // closed when teardown finished
	tearOnce sync.Once
	bg       sync.WaitGroup
}

var _ executor.Executor = (*Executor)(nil)

// entry is a task this executor holds until its result arrives.
type entry struct {
	seq       uint64
	t         driver.Task
	r         driver.Remote
	data      []byte    // encoded call; nil once the server stored it
	pubAt     time.Time // last published
	gen       int       // times published again after its message was lost
	streamSeq uint64    // the message's sequence in the stream, once stored
	checked   time.Time // last audit (see audit.go)
	queued    bool      // in the retry queue
	at        time.Time // scheduled (with hooks)
	started   time.Time // first started (with hooks)
	running   bool
	starts    int         // deliveries that started the task (workers' started notices)
	reported  int         // of them, those whose worker reported a failure (wire.StatusRetry)
	lastErr   string      // why the last started delivery failed without a result, if a worker said
	deadline  int64       // of the submit context, in Unix nanoseconds; 0: none
	stop      func() bool // stops the AfterFunc on the submit context; nil for one that never ends
}

func newExecutor(ctx context.Context, c codec, opts []ExecutorOption) (*Executor, error) {
	if ctx == nil {
		panic("cluster: nil Context")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.applyExecutor(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.workerTuned && cfg.workerProcs == 0 {
		return nil, errors.New("cluster: WithConcurrency, WithPrefetch and WithDrainTimeout on New configure the worker processes it starts: give WithWorkerProcesses too, or give them to the workers (NewWorker, or the GOFUTURES_CLUSTER_* variables)")
	}
	if cfg.workers == 0 {
		cfg.workers = runtime.NumCPU()
		if cfg.workerProcs > 0 {
			cfg.workers = cfg.workerProcs * cfg.concurrency
		}
	}
	e := &Executor{
		cfg: cfg, codec: c, sid: nuid.Next(), subj: tasksSubject(cfg.stream),
		tasks: map[uint64]*entry{}, unstored: map[uint64]*entry{}, idle: make(chan struct{}), closing: make(chan struct{}), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), torn: make(chan struct{}),
	}
	e.log = cfg.logger.With(zap.String("executor", cfg.name))
	e.auditAge = auditAge(&e.cfg)
	if cfg.audit > 0 {
		e.auditAge = cfg.audit
	}
	if err := e.start(ctx); err != nil {
		e.teardown()
		return nil, err
	}
	return e, nil
}

func (e *Executor) start(ctx context.Context) error {
	var extra []nats.Option
	if e.cfg.url == "" {
		if e.cfg.token == "" && e.cfg.user == "" && e.cfg.nkeySeed == "" {
			e.cfg.token = randomToken() // the embedded server always requires credentials
		}
		emb, err := startEmbedded(&e.cfg)
		if err != nil {
			return err
		}
		e.emb, e.url = emb, emb.url()
		extra = append(extra, nats.InProcessServer(emb.srv))
	} else {
		e.url = e.cfg.url
	}
	nc, err := connect(&e.cfg, e.url, "submitter", extra...)
	if err != nil {
		return err
	}
	e.nc = nc
	e.js, err = jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := ensureStream(ctx, e.js, nc.LastError, &e.cfg, e.log); err != nil {
		return err
	}
	e.ackPrefix = nc.NewInbox() + "."
	e.cancelSub = cancelSubject(e.cfg.stream, e.sid)
	for subj, h := range map[string]nats.MsgHandler{
		startSubject(e.cfg.stream, e.sid):   e.onStart,
		startedSubject(e.cfg.stream, e.sid): e.onStarted,
		resultSubject(e.cfg.stream, e.sid):  e.onResult,
		e.ackPrefix + "*":                   e.onStored,
	} {
		sub, err := nc.Subscribe(subj, h)
		if err != nil {
			return fmt.Errorf("cluster: subscribe: %w", err)
		}
		_ = sub.SetPendingLimits(-1, 256<<20)
		e.subs = append(e.subs, sub)
	}
	if err := e.watchPresence(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.requestTimeout)
		defer cancel()
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	e.bg.Add(2)
	go e.retryLoop()
	go e.auditLoop()
	if e.cfg.workerProcs > 0 {
		p, err := startProcs(&e.cfg, e.url, e.log)
		if err != nil {
			return err
		}
		e.procs = p
	}
	e.log.Info("cluster executor started", zap.String("url", redact(e.url)), zap.String("submitter", e.sid),
		zap.Bool("embedded", e.emb != nil))
	return nil
}

// URL returns the address workers connect to: the embedded server's (on
// the WithListen address) or the one given with WithURL. It is safe for
// concurrent use.
func (e *Executor) URL() string { return e.url }

// Workers returns the number of tasks the cluster can run at once: the
// total concurrency of the workers connected now, as they announce
// themselves (see Stats), leaving out those that are draining. While no
// worker is connected it returns the WithWorkersHint value, or else the total
// concurrency of the worker processes this executor starts
// (WithWorkerProcesses), or else runtime.NumCPU(). With worker processes it
// is never less than their total concurrency, so that it does not dip
// while they start. Package pool uses it to size chunks. It takes a lock
// and looks at each connected worker; it is safe for concurrent use.
func (e *Executor) Workers() int {
	n := e.stats.capacity(time.Now())
	switch {
	case e.cfg.workerProcs > 0:
		return max(n, e.cfg.workerProcs*e.cfg.concurrency)
	case n > 0:
		return n
	}
	return e.cfg.workers
}

// Schedule implements executor.Executor. It encodes the task and publishes
// it without waiting for the server's confirmation; it blocks only while the
// connection's write buffer is full (the server applies backpressure). It
// costs one gob encoding and one message. It fails with executor.ErrNotRemote for
// a closure or an unregistered function, ErrTooLarge for a task that does
// not fit in a message, executor.ErrShutdown after Shutdown or Stop, and
// context.Cause(ctx) for a ctx that has already ended (nothing is sent).
//
// A ctx that can end (ctx.Done() != nil) costs a context.AfterFunc, stopped
// when the task finishes, and, if it has a deadline, a header on the
// message; its end costs one cancel message if a worker runs the task.
// context.Background() and context.WithoutCancel contexts cost nothing more.
func (e *Executor) Schedule(ctx context.Context, t driver.Task) error {
	r, err := remotecall.RemoteOf("cluster", ctx, t)
	if err != nil {
		return err
	}
	data, err := e.codec.encodeCall(r)
	if err != nil {
		return err
	}
	if limit := e.nc.MaxPayload() - 256; int64(len(data)) > limit {
		return fmt.Errorf("%w: task %s of %d bytes, the server's limit is %d", ErrTooLarge, r.FuncName(), len(data), limit)
	}
	en := &entry{t: t, r: r, data: data}
	if e.cfg.hooks != nil {
		en.at = time.Now()
	}
	ends := ctx.Done() != nil // false for Background and WithoutCancel: nothing to watch
	if ends {
		if dl, ok := ctx.Deadline(); ok && dl.Before(lastUnixNano) {
			en.deadline = dl.UnixNano() // a later one is none for the worker; ours still acts
		}
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return fmt.Errorf("cluster: %w", executor.ErrShutdown)
	}
	if ends && ctx.Err() != nil {
		e.mu.Unlock()
		return context.Cause(ctx)
	}
	e.seq++
	en.seq = e.seq
	en.pubAt = time.Now()
	e.tasks[en.seq] = en
	e.unstored[en.seq] = en
	e.cfg.hooks.OnSubmitted() // under e.mu: before ctxDone can report the task finished
	if ends {
		// Registered under e.mu, so that whoever forgets en sees stop; f
		// runs in a goroutine of its own, never under e.mu.
		en.stop = context.AfterFunc(ctx, func() { e.ctxDone(ctx, en) })
	}
	e.mu.Unlock()
	e.publish(en, data)
	return nil
}

// ctxDone runs when the submit context of a task that is still held ends:
// the future fails with the context's cause; a task no worker started is
// forgotten, so its message is skipped when a worker asks (and is never
// published again, by the retry loop or the audit); the workers are told to
// cancel a running one. Whatever a worker sends for the task afterwards is
// ignored, as a duplicate is.
func (e *Executor) ctxDone(ctx context.Context, en *entry) {
	e.mu.Lock()
	if e.tasks[en.seq] != en {
		e.mu.Unlock()
		return // finished meanwhile
	}
	running := en.running
	e.forgetLocked(en)
	e.checkIdleLocked()
	e.mu.Unlock()
	if running {
		reason := wire.ReasonCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = wire.ReasonDeadline
		}
		// Before failing the future: its callbacks may take a while.
		if err := e.nc.Publish(e.cancelSub, wire.AppendCancel(nil, reason, []uint64{en.seq})); err != nil {
			e.log.Debug("cancel message not sent; the task's result will be ignored", zap.Uint64("task", en.seq), zap.Error(err))
		}
	}
	cause := context.Cause(ctx)
	out := executor.OutcomeCancelled // cancelled with Future.Cancel, not started
	if en.t.Fail(cause) {
		out = ctxOutcome(cause, running)
	}
	if e.cfg.hooks != nil {
		run := time.Duration(0)
		if running {
			run = -1 // not measured: the worker still runs it
		}
		e.cfg.hooks.OnFinished(executor.Finish{Outcome: out, Ran: running, Run: run})
	}
}

// lastUnixNano is the last time that Unix nanoseconds hold (in 2262).
var lastUnixNano = time.Unix(0, math.MaxInt64)

// ctxOutcome classifies a task failed by the end of its submit context.
func ctxOutcome(cause error, ran bool) executor.Outcome {
	out := executor.OutcomeOf(cause)
	if out == executor.OutcomeError && !ran {
		out = executor.OutcomeCancelled
	}
	return out
}

// onStart answers a worker's start request: run (future moved to running,
// or already running: a redelivery), skip (unknown, finished or cancelled)
// or limit (a redelivery of a task that started as often as WithMaxAttempts
// allows: its future fails with a *DeliveryError).
func (e *Executor) onStart(m *nats.Msg) {
	seqs, err := wire.Seqs(m.Data)
	if err != nil {
		e.log.Warn("bad start request", zap.Error(err))
		_ = m.Respond(nil)
		return
	}
	verdicts := make([]byte, len(seqs))
	var started, cancelled, limited []*entry
	now := time.Time{}
	if e.cfg.hooks != nil {
		now = time.Now()
	}
	e.mu.Lock()
	for i, s := range seqs {
		en := e.tasks[s]
		switch {
		case en == nil:
		case en.running && en.starts >= e.cfg.maxAttempts:
			e.forgetLocked(en)
			verdicts[i] = wire.Limit
			limited = append(limited, en)
		case en.running:
			verdicts[i] = wire.Run
			if en.starts > en.reported {
				// A worker that started it vanished: it may be what
				// killed it, so it runs alone, and a crash blames it only.
				verdicts[i] = wire.Alone
			}
			e.noteRedelivery()
			if en.starts > 0 {
				e.log.Info("task redelivered after a worker that started it stopped reporting",
					zap.Uint64("task", en.seq), zap.String("func", en.r.FuncName()), zap.Int("attempt", en.starts+1),
					zap.Int("max_attempts", e.cfg.maxAttempts), zap.String("last_failure", en.lastErr))
			} else {
				e.log.Debug("task redelivered; no worker had started it", zap.Uint64("task", en.seq))
			}
		case en.t.Start():
			en.running, en.started = true, now
			e.storedLocked(en)
			verdicts[i] = wire.Run
			started = append(started, en)
		default:
			e.forgetLocked(en)
			cancelled = append(cancelled, en)
		}
	}
	e.checkIdleLocked()
	e.mu.Unlock()
	if err := m.Respond(verdicts); err != nil {
		e.log.Debug("start reply failed", zap.Error(err))
	}
	for _, en := range started {
		e.cfg.hooks.OnStarted(now.Sub(en.at))
	}
	for range cancelled {
		e.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeCancelled})
	}
	for _, en := range limited {
		e.failLimit(en, en.starts, en.lastErr)
	}
}

// failLimit fails a task that reached its delivery limit.
func (e *Executor) failLimit(en *entry, attempts int, last string) {
	err := &DeliveryError{Attempts: attempts, Last: workerFailure(last)}
	e.noteDeliveryLimit()
	e.log.Warn("task failed: delivery limit reached", zap.Uint64("task", en.seq), zap.String("func", en.r.FuncName()),
		zap.Int("attempts", attempts), zap.Error(err.Last))
	en.t.Fail(err)
	if e.cfg.hooks != nil {
		e.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeOf(err), Ran: true, Err: err})
	}
}

// onStarted counts the deliveries that started tasks: workers send it, and
// write it to their connection, before they call the function, so a task
// that kills its worker is counted.
func (e *Executor) onStarted(m *nats.Msg) {
	seqs, err := wire.Seqs(m.Data)
	if err != nil {
		e.log.Warn("bad started notice", zap.Error(err))
		return
	}
	e.mu.Lock()
	for _, s := range seqs {
		if en := e.tasks[s]; en != nil {
			en.starts++
		}
	}
	e.mu.Unlock()
}

// onResult completes futures from a batch of results; results for tasks no
// longer held (duplicates from redeliveries) are ignored. A retry entry
// only records why a delivery failed: the task stays, for its next one.
func (e *Executor) onResult(m *nats.Msg) {
	rs, err := wire.Results(m.Data)
	if err != nil {
		e.log.Warn("bad result batch", zap.Error(err))
		_ = m.Respond(nil)
		return
	}
	ens := make([]*entry, len(rs))
	e.mu.Lock()
	for i := range rs {
		en := e.tasks[rs[i].Seq]
		switch {
		case en == nil:
		case rs[i].Status == wire.StatusRetry:
			en.lastErr = string(rs[i].Data)
			en.reported++
		default:
			e.forgetLocked(en)
			ens[i] = en
		}
	}
	e.checkIdleLocked()
	e.mu.Unlock()
	// Reply first: the worker acknowledges the tasks while we decode.
	if err := m.Respond(nil); err != nil {
		e.log.Debug("result reply failed", zap.Error(err))
	}
	for i, en := range ens {
		if en == nil {
			continue
		}
		var err error
		r := &rs[i]
		switch r.Status {
		case wire.StatusResult:
			err = e.codec.finish(en.r, r.Data)
		case wire.StatusLimit:
			// The server's backstop: the task's last delivery, whatever
			// started it.
			last := string(r.Data)
			if last == "" {
				last = en.lastErr
			}
			e.failLimit(en, en.starts, last)
			continue
		case wire.StatusTooLarge:
			err = fmt.Errorf("%w: %s", ErrTooLarge, r.Data)
			en.t.Fail(err)
		default:
			err = fmt.Errorf("cluster: worker could not run the task: %s", r.Data)
			en.t.Fail(err)
		}
		if e.cfg.hooks != nil {
			e.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeOf(err), Ran: en.running, Run: time.Duration(r.RunNanos), Err: err})
		}
	}
}

func (e *Executor) checkIdleLocked() {
	if e.closed && len(e.tasks) == 0 {
		select {
		case <-e.idle:
		default:
			close(e.idle)
		}
	}
}

// Shutdown implements executor.Executor: no new tasks; it waits until every
// accepted task has a result (with executor.CancelPending, the tasks no
// worker started are cancelled first), then stops the worker processes, the
// connection and the embedded server. It returns context.Cause(ctx) if ctx
// ends first; the shutdown goes on. Idempotent.
func (e *Executor) Shutdown(ctx context.Context, opts ...driver.ShutdownOption) error {
	if ctx == nil {
		panic("cluster: nil Context")
	}
	sc := driver.ShutdownSettings(opts...)
	e.mu.Lock()
	e.closeLocked()
	var cancel []*entry
	if sc.CancelPending {
		for _, en := range e.tasks {
			if !en.running {
				cancel = append(cancel, en)
			}
		}
	}
	e.mu.Unlock()
	for _, en := range cancel {
		// Cancel runs the future's callbacks: not under e.mu. A worker's
		// start request may find the task cancelled first; whoever removes
		// the entry reports it.
		if !en.t.Cancel() {
			continue // started meanwhile
		}
		e.mu.Lock()
		ours := e.tasks[en.seq] == en
		if ours {
			e.forgetLocked(en)
		}
		e.mu.Unlock()
		if ours {
			e.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeCancelled})
		}
	}
	e.mu.Lock()
	e.checkIdleLocked()
	e.mu.Unlock()
	e.startTeardown(false)
	select {
	case <-e.torn:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// closeLocked makes the executor refuse new tasks.
func (e *Executor) closeLocked() {
	if !e.closed {
		e.closed = true
		close(e.closing)
	}
}

// Closing returns a channel that is closed when Shutdown or Stop is first
// called: from then on the executor accepts no task. A task waiting for its
// next attempt under a retry policy (executor.NewRetry) fails then at once,
// with a *executor.RetryError that wraps the executor's error and the last
// attempt's.
func (e *Executor) Closing() <-chan struct{} { return e.closing }

// Stop implements executor.Executor: tasks not finished fail with
// executor.ErrStopped, workers are told to cancel the running ones (their
// contexts are cancelled; results that still come are ignored), worker
// processes are killed, and the connection and embedded server close. It
// waits for that until ctx ends. Idempotent.
func (e *Executor) Stop(ctx context.Context) error {
	if ctx == nil {
		panic("cluster: nil Context")
	}
	e.mu.Lock()
	e.closeLocked()
	e.stopped = true
	left := e.tasks
	e.tasks, e.unstored = map[uint64]*entry{}, map[uint64]*entry{}
	e.retry = nil
	for _, en := range left {
		if en.stop != nil {
			en.stop()
			en.stop = nil
		}
	}
	e.checkIdleLocked()
	e.mu.Unlock()
	for _, en := range left {
		if en.t.Fail(fmt.Errorf("cluster: %w", executor.ErrStopped)) {
			e.cfg.hooks.OnFinished(executor.Finish{Outcome: executor.OutcomeStopped, Ran: en.running})
		}
	}
	e.startTeardown(true)
	select {
	case <-e.torn:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// startTeardown starts, once, the goroutine that waits for the last result
// (unless hard) and releases everything; a later hard call cuts the wait.
func (e *Executor) startTeardown(hard bool) {
	if hard {
		e.quitOnce.Do(func() { close(e.quit) })
	}
	e.tearOnce.Do(func() {
		go func() {
			select {
			case <-e.idle:
			case <-e.quit:
			}
			e.teardown()
		}()
	})
}

func (e *Executor) teardown() {
	e.quitOnce.Do(func() { close(e.quit) })
	if e.procs != nil {
		e.mu.Lock()
		hard := e.stopped
		e.mu.Unlock()
		e.procs.stop(hard)
	}
	e.bg.Wait()
	for _, s := range e.subs {
		_ = s.Unsubscribe()
	}
	if e.nc != nil && e.nc.IsConnected() {
		// Workers cancel this executor's running tasks and drop its
		// messages still in the stream (cancelled ones, after Shutdown).
		_ = e.nc.Publish(stopSubject(e.cfg.stream), []byte(e.sid))
		_ = e.nc.FlushTimeout(time.Second)
	}
	if e.nc != nil {
		e.nc.Close()
	}
	if e.emb != nil {
		e.emb.shutdown()
	}
	e.log.Info("cluster executor stopped")
	select {
	case <-e.torn:
	default:
		close(e.torn)
	}
}
