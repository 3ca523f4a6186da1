package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/cluster/internal/wire"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Worker pulls tasks from the cluster's work queue and runs them: in this
// process, up to WithConcurrency at once. Start one on every machine that
// should take part (the same program as the submitter, or any program with
// the same registry), with WithURL and the cluster's credentials.
//
// A Worker asks the task's submitter before it runs a task, so a task whose
// future was cancelled, or whose submit context ended, is skipped; it sends
// progress heartbeats while the task runs, and acknowledges the task only
// after the submitter confirmed it received the result.
//
// A task's context carries the deadline of the context it was submitted
// with, and is cancelled when the submitter says that context ended (cause
// context.Canceled or context.DeadlineExceeded), when the submitter stops
// (cause executor.ErrStopped) or when the drain times out. A task that
// ignores its cancelled context keeps its slot until it returns; what it
// returns is dropped (its future has already failed) and its message is
// removed. A Worker is safe for concurrent use; Run may be called more than
// once, one call at a time.
type Worker struct {
	cfg    config
	log    *zap.Logger
	runner runner
	sess   atomic.Pointer[session] // the last Run's, for tests
}

func newWorker(r runner, opts []WorkerOption) (*Worker, error) {
	cfg := defaultConfig()
	cfg.name = "worker"
	for _, o := range opts {
		o.applyWorker(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.url == "" {
		return nil, errors.New("cluster: a worker needs WithURL")
	}
	cfg.concurrency = max(cfg.concurrency, cfg.localHelpers)
	return &Worker{cfg: cfg, log: cfg.logger.With(zap.String("worker", cfg.name)), runner: r}, nil
}

// Run connects to the cluster and runs tasks until ctx ends, then drains:
// it stops asking for tasks, hands back to the server at once the tasks it
// holds and has not started (another worker takes them; no delivery is
// counted against them), lets running tasks finish for up to the drain
// timeout, then cancels their contexts (cause: the drain) and waits one
// more second. A task still running then is abandoned: its message goes
// back to the server, and Run returns while its goroutine runs on (a worker
// process started by ServeIfWorker exits, which ends it). It returns nil
// after a drain caused by ctx, an error wrapping ErrAuth if the server
// refused the credentials, or another connection error. It blocks.
func (w *Worker) Run(ctx context.Context) error {
	if ctx == nil {
		panic("cluster: nil Context")
	}
	nc, err := connect(&w.cfg, w.cfg.url, "worker")
	if err != nil {
		w.log.Error("worker refused", zap.Error(err))
		return err
	}
	defer nc.Close()
	if w.cfg.workerProcs > 0 {
		return w.supervise(ctx)
	}
	run := w.runner
	if n := w.cfg.localHelpers; n > 0 {
		rc, ok := w.runner.(*registryCodec)
		if !ok {
			return errors.New("cluster: WithLocalHelpers needs a worker made by NewWorker")
		}
		pool, err := process.New(rc.reg, process.WithWorkers(n), process.WithLogger(w.log), process.WithName(w.cfg.name+"-helpers"))
		if err != nil {
			return fmt.Errorf("cluster: local helpers: %w", err)
		}
		defer pool.Shutdown(context.WithoutCancel(ctx))
		run = helperRunner{pool}
		w.log.Info("running tasks on local helpers", zap.Int("helpers", n))
	}
	s := &session{w: w, cfg: &w.cfg, log: w.log, nc: nc, stop: make(chan struct{}), calls: run,
		jobs: map[*job]struct{}{}, batchers: map[batchKey]*batcher{}, gone: map[string]bool{}}
	w.sess.Store(s)
	return s.run(ctx)
}

// supervise runs worker processes (WithWorkerProcesses) until ctx ends,
// then lets them drain.
func (w *Worker) supervise(ctx context.Context) error {
	ps, err := startProcs(&w.cfg, w.cfg.url, w.log)
	if err != nil {
		return err
	}
	w.log.Info("worker processes running", zap.Int("processes", w.cfg.workerProcs))
	<-ctx.Done()
	ps.stop(false)
	return nil
}

// session is one Run.
type session struct {
	w     *Worker
	cfg   *config
	log   *zap.Logger
	nc    *nats.Conn
	calls runner // w.runner, or local helpers

	maxAttempts uint64
	backOff     []time.Duration
	maxResult   int

	pace    pacer
	active  atomic.Int64    // jobs delivered and not yet run or given back (see dispatch.go)
	room    chan struct{}   // buffered 1: active went down
	runq    chan *job       // approved tasks, for the runners
	quit    chan struct{}   // closed when run returns: runners exit
	stop    chan struct{}   // closed when ctx ends
	taskCtx context.Context // cancelled after the drain timeout (errDrained)
	wg      sync.WaitGroup  // deliveries being handled, jobs, batcher goroutines

	solo    sync.RWMutex    // read-locked by each call, locked by a call that runs alone
	resMu   sync.Mutex      // guards results
	resCond sync.Cond       // on resMu: results went to 0
	results int             // results queued or on their way, not yet settled
	noteMu  sync.Mutex      // started notices, one at a time
	noteBuf []byte          // under noteMu
	written context.Context // an ended deadline: FlushWithContext writes, does not wait

	stopping atomic.Bool
	mu       sync.Mutex
	jobs     map[*job]struct{}
	running  int // jobs in execute's call of the function
	batchers map[batchKey]*batcher
	gone     map[string]bool // submitters that stopped
}

// job is one delivery of a task.
type job struct {
	msg      jetstream.Msg
	sid      string
	seq      uint64
	attempts uint64 // deliveries including this one
	deadline int64  // of the submit context, Unix nanoseconds; 0: none
	idle     bool   // out of session.active (see session.idle); owned by whoever has the job
	alone    bool   // run with no other job at the same time (wire.Alone)

	meta map[string]string // context metadata for the restorer (WithRestorer); nil: none
	// Under session.mu:
	cancel    context.CancelCauseFunc // of the running task's context
	cancelled wire.Reason             // the submitter said the submit context ended
	res       wire.Result
}

// abandonAfter is how long a draining worker waits, after it cancelled the
// tasks that outlived the drain timeout, before it gives up on them.
const abandonAfter = time.Second

// Causes of a task context's end that are the worker's own.
var (
	errSubmitterStopped = fmt.Errorf("cluster: the submitting executor stopped: %w", executor.ErrStopped)
	errDrained          = errors.New("cluster: worker stopping: drain timeout, task returned to the server")
)

func (s *session) run(ctx context.Context) error {
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	cons := s.bind(ctx, js)
	if cons == nil {
		return nil // ctx ended first
	}
	ackWait := s.setup(cons.CachedInfo())
	defer close(s.quit)
	for range s.cfg.concurrency {
		go s.runner()
	}
	var cancelTasks context.CancelCauseFunc
	s.taskCtx, cancelTasks = context.WithCancelCause(context.Background())
	defer cancelTasks(nil)

	for subj, h := range map[string]nats.MsgHandler{
		stopSubject(s.cfg.stream):    s.onStop,
		cancelWildcard(s.cfg.stream): s.onCancel,
	} {
		sub, err := s.nc.Subscribe(subj, h)
		if err != nil {
			return fmt.Errorf("cluster: subscribe: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}

	pullCtx, stopPull := context.WithCancel(context.Background())
	pulled := make(chan struct{})
	go func() { defer close(pulled); s.pull(pullCtx, cons) }()
	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	go s.heartbeats(max(ackWait/3, 5*time.Millisecond), hbStop, hbDone)
	annDone := make(chan struct{})
	go func() { defer close(annDone); s.announce(hbStop) }()
	s.log.Info("worker running", zap.String("url", redact(s.cfg.url)), zap.String("stream", s.cfg.stream),
		zap.Int("concurrency", s.cfg.concurrency), zap.Int("max_prefetch", s.cfg.prefetch))

	<-ctx.Done()
	s.drain(func() { stopPull(); <-pulled }, cancelTasks)
	close(hbStop)
	<-hbDone
	<-annDone
	if s.nc.IsConnected() {
		_ = s.nc.FlushTimeout(s.cfg.requestTimeout)
	}
	s.log.Info("worker stopped")
	return nil
}

// setup sizes the session from its consumer's configuration and makes its
// channels; it returns the ack wait.
func (s *session) setup(info *jetstream.ConsumerInfo) time.Duration {
	s.maxAttempts = uint64(max(info.Config.MaxDeliver-1, 1))
	s.backOff = info.Config.BackOff
	ackWait := info.Config.AckWait
	if len(s.backOff) == 0 {
		s.backOff = []time.Duration{ackWait}
	}
	s.maxResult = int(s.nc.MaxPayload()) - 1024
	s.pace = pacer{runners: s.cfg.concurrency, maxHold: s.cfg.prefetch, rtt: leadFloor / 2}
	s.room = make(chan struct{}, 1)
	s.resCond.L = &s.resMu
	s.runq = make(chan *job, s.cfg.concurrency+s.cfg.prefetch)
	s.quit = make(chan struct{})
	written, cancelWritten := context.WithDeadline(context.Background(), time.Unix(0, 1))
	cancelWritten()
	s.written = written
	return ackWait
}

// drain stops fetching (stopPull returns once the pull loop has), hands back
// the tasks not started, and waits for the running ones: until the drain
// timeout, then cancels them (cancelTasks), and abandonAfter later gives up
// on those that ignore it.
func (s *session) drain(stopPull func(), cancelTasks context.CancelCauseFunc) {
	running, held := s.load()
	s.log.Info("worker draining: handing back the tasks it has not started",
		zap.Int("running", running), zap.Int("held", held), zap.Duration("drain_timeout", s.cfg.drainTimeout))
	s.mu.Lock()
	s.stopping.Store(true) // under mu: onMsg counts itself in wg only before this
	s.mu.Unlock()
	close(s.stop)
	stopPull()
	s.handBack()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(s.cfg.drainTimeout)
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		running, _ := s.load()
		s.log.Warn("drain timeout: cancelling the running tasks; they go back to the server", zap.Int("running", running))
		cancelTasks(errDrained)
		t.Reset(abandonAfter)
		select {
		case <-done:
			t.Stop()
		case <-t.C:
			running, _ := s.load()
			s.log.Warn("tasks ignore their cancelled ctx: abandoning them; their messages go back to the server",
				zap.Int("running", running))
			s.abandon()
		}
	}
}

// bind waits until the executor created the stream and consumer; it
// returns nil if ctx ends first.
func (s *session) bind(ctx context.Context, js jetstream.JetStream) jetstream.Consumer {
	warned := false
	for {
		cons, err := js.Consumer(ctx, s.cfg.stream, consumerName)
		if err == nil {
			return cons
		}
		if !warned {
			s.log.Info("waiting for the task stream", zap.String("stream", s.cfg.stream), zap.Error(err))
			warned = true
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// onMsg receives a delivery, counted in active (see pull).
func (s *session) onMsg(m jetstream.Msg) {
	s.mu.Lock()
	if s.stopping.Load() {
		s.mu.Unlock()
		_ = m.Nak() // a request that was open when the drain began
		s.active.Add(-1)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	h := m.Headers()
	sid, seq, ok := parseTaskID(h.Get(jetstream.MsgIDHeader))
	var deadline int64
	if v := h.Get(deadlineHeader); v != "" && ok {
		deadline, ok = parseDeadline(v)
	}
	meta, err := m.Metadata()
	if !ok || err != nil {
		s.log.Warn("malformed task message: removed", zap.Error(err))
		_ = m.TermWithReason("malformed task message")
		s.active.Add(-1)
		s.poke()
		return
	}
	j := &job{msg: m, sid: sid, seq: seq, attempts: meta.NumDelivered, deadline: deadline}
	if s.cfg.restorer != nil {
		j.meta = metaFromHeaders(h)
	}
	s.mu.Lock()
	gone := s.gone[sid]
	if !gone {
		s.jobs[j] = struct{}{}
	}
	s.mu.Unlock()
	if gone {
		s.release(j, term, "submitter stopped", 0)
		return
	}
	if j.attempts > s.maxAttempts {
		// The server's last delivery (see maxDeliveries): report and
		// remove.
		s.log.Warn("task reached the server's delivery limit: reporting it failed", zap.String("submitter", sid),
			zap.Uint64("task", seq), zap.Uint64("deliveries", j.attempts))
		s.idle(j)
		j.res = wire.Result{Seq: seq, Attempts: j.attempts - 1, Status: wire.StatusLimit}
		s.batcher(sid, kindResult).add(j)
		return
	}
	s.batcher(sid, kindStart).add(j)
}

type ackKind int

const (
	ack ackKind = iota
	term
	nak
)

// release settles a job's message and frees its place.
func (s *session) release(j *job, k ackKind, why string, delay time.Duration) {
	var err error
	switch k {
	case ack:
		err = j.msg.Ack()
	case term:
		err = j.msg.TermWithReason(why)
	case nak:
		err = j.msg.NakWithDelay(delay)
	}
	if err != nil {
		s.log.Debug("settle failed; the server will redeliver", zap.Error(err))
	}
	s.mu.Lock()
	delete(s.jobs, j)
	s.mu.Unlock()
	s.idle(j)
}

func (s *session) delay(attempts uint64) time.Duration {
	i := min(int(attempts), len(s.backOff)-1)
	return s.backOff[max(i, 0)]
}

// runJob queues an approved job for the runners.
func (s *session) runJob(j *job) {
	s.wg.Add(1)
	s.runq <- j // never blocks: the queue holds as many jobs as the pacer's target allows
}

// runner runs queued jobs, one at a time, until run returns. A fixed set
// of runners (WithConcurrency) keeps their grown stacks across tasks.
func (s *session) runner() {
	for {
		select {
		case j := <-s.runq:
			s.execute(j)
			s.wg.Done()
		case <-s.quit:
			return
		}
	}
}

// handBack returns to the server the approved tasks that wait for a
// runner: they were not started, so another worker may take them at once.
func (s *session) handBack() {
	for {
		select {
		case j := <-s.runq:
			s.release(j, nak, "", 0)
			s.wg.Done()
		default:
			return
		}
	}
}

// unsettled adds n to the results on their way to a submitter.
func (s *session) unsettled(n int) {
	s.resMu.Lock()
	s.results += n
	if s.results == 0 {
		s.resCond.Broadcast()
	}
	s.resMu.Unlock()
}

// settled waits until no result is on its way to a submitter: each is
// confirmed and its message acknowledged, or handed back (a flush gives up
// after a few tries).
func (s *session) settled() {
	s.resMu.Lock()
	for s.results > 0 {
		s.resCond.Wait()
	}
	s.resMu.Unlock()
}

// abandon hands back the messages of the tasks still running after the
// drain's cancellation: another worker may run them now. Their goroutines
// go on until the function returns (in a worker process, until it exits).
func (s *session) abandon() {
	s.mu.Lock()
	var left []*job
	for j := range s.jobs {
		if j.cancel != nil {
			left = append(left, j)
		}
	}
	s.mu.Unlock()
	for _, j := range left {
		_ = j.msg.Nak()
	}
}

// started tells the task's submitter that the job starts now, and writes
// the notice to the connection before it returns, so that a task that
// kills this process is counted against its delivery limit (and a task
// that never started is not). FlushWithContext writes what is buffered at
// once and then waits for the server's reply, which s.written (an ended
// deadline) cuts short: a write, not a round trip.
func (s *session) started(j *job) {
	subj := startedSubject(s.cfg.stream, j.sid)
	s.noteMu.Lock()
	defer s.noteMu.Unlock()
	s.noteBuf = wire.AppendSeqs(s.noteBuf[:0], []uint64{j.seq})
	if err := s.nc.Publish(subj, s.noteBuf); err != nil {
		s.log.Debug("started notice not sent", zap.Uint64("task", j.seq), zap.Error(err))
		return
	}
	_ = s.nc.FlushWithContext(s.written)
}

// execute runs a job and passes its outcome on. The task's context is
// cancelled by onCancel and onStop, and ends at the submit context's
// deadline (a timer of its own, on this machine's clock).
func (s *session) execute(j *job) {
	ctx, cancel := context.WithCancelCause(s.taskCtx)
	endTimer := context.CancelFunc(nil)
	if j.deadline != 0 {
		ctx, endTimer = context.WithDeadline(ctx, time.Unix(0, j.deadline))
	}
	s.mu.Lock()
	j.cancel = cancel
	gone, why := s.gone[j.sid], j.cancelled
	s.mu.Unlock()
	end := func() {
		cancel(nil)
		if endTimer != nil {
			endTimer()
		}
	}
	switch {
	case gone:
		end()
		s.release(j, term, "submitter stopped", 0)
		return
	case why != 0 || ctx.Err() != nil:
		// The submit context ended before the task started (the cancel
		// message overtook the start verdict, or the deadline passed):
		// never run it. The submitter has failed, or at its deadline
		// fails, the future.
		end()
		s.release(j, term, "submit context ended before the task started", 0)
		return
	}
	// A task that may have killed the worker that ran it before runs
	// alone here, so that if it kills this one too no other task started
	// with it is blamed. (Local helpers isolate each call already.)
	unlock := s.solo.RUnlock
	if j.alone && s.cfg.localHelpers == 0 {
		s.solo.Lock()
		unlock = s.solo.Unlock
		// And the results of the tasks that ran before it are settled
		// first: a task done with its result still on its way when this
		// one kills the worker would run again, and be counted again.
		s.settled()
	} else {
		s.solo.RLock()
	}
	if s.stopping.Load() {
		unlock()
		end()
		s.release(j, nak, "", 0) // draining: hand it back, not started
		return
	}
	s.started(j)
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
	t0 := time.Now()
	runCtx := ctx
	if j.meta != nil {
		runCtx = s.cfg.restorer.RestoreContext(ctx, j.meta)
	}
	res, err := s.calls.runCall(runCtx, j.msg.Data())
	elapsed := time.Since(t0)
	unlock()
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
	s.pace.ran(elapsed)
	s.idle(j)                   // its runner is free; its result may still be on its way
	expired := ctx.Err() != nil // deadline passed (other ends are told apart below)
	end()
	s.mu.Lock()
	gone, why = s.gone[j.sid], j.cancelled
	s.mu.Unlock()
	switch {
	case gone:
		s.release(j, term, "submitter stopped", 0)
		return
	case why != 0:
		// The submitter failed the future when its context ended and
		// forgot the task: what the task returned has no taker.
		s.release(j, term, "submit context ended while the task ran", 0)
		return
	case s.taskCtx.Err() != nil:
		s.release(j, nak, "", 0) // cancelled by our drain: let another worker run it
		return
	case expired:
		// The deadline passed while it ran: the submitter fails the
		// future at that deadline, with its context's cause, whatever
		// the task returned after it (a helper's call may even have
		// been abandoned: err).
		s.release(j, term, "deadline exceeded while the task ran", 0)
		return
	case err != nil:
		// Tell the submitter why (it decides on the delivery limit at the
		// next delivery), then hand the message back.
		s.log.Warn("task failed on this worker without a result; handing it back", zap.String("submitter", j.sid),
			zap.Uint64("task", j.seq), zap.Uint64("delivery", j.attempts), zap.Error(err))
		j.res = wire.Result{Seq: j.seq, Attempts: j.attempts, Status: wire.StatusRetry, Data: []byte(err.Error())}
	case len(res) > s.maxResult:
		j.res = wire.Result{Seq: j.seq, Attempts: j.attempts, Status: wire.StatusTooLarge,
			Data: fmt.Appendf(nil, "result of %d bytes, the server's limit is %d", len(res), s.maxResult)}
	default:
		j.res = wire.Result{Seq: j.seq, Attempts: j.attempts, Status: wire.StatusResult, Data: res}
	}
	j.res.RunNanos = uint64(elapsed)
	s.batcher(j.sid, kindResult).add(j)
}

// onStop: a submitter stopped: cancel and drop its tasks.
func (s *session) onStop(m *nats.Msg) {
	sid := string(m.Data)
	s.mu.Lock()
	if len(s.gone) > 4096 {
		clear(s.gone)
	}
	s.gone[sid] = true
	for j := range s.jobs {
		if j.sid == sid && j.cancel != nil {
			j.cancel(errSubmitterStopped)
		}
	}
	s.mu.Unlock()
}

// onCancel: the submit contexts of some running tasks ended: cancel their
// contexts, with the cause that crosses the wire. A task not yet started is
// marked, so that execute never runs it.
func (s *session) onCancel(m *nats.Msg) {
	sid := cancelSubmitter(s.cfg.stream, m.Subject)
	reason, seqs, err := wire.Cancel(m.Data)
	if sid == "" || err != nil {
		s.log.Warn("bad cancel message", zap.String("subject", m.Subject), zap.Error(err))
		return
	}
	cause := context.Canceled
	if reason == wire.ReasonDeadline {
		cause = context.DeadlineExceeded
	}
	s.mu.Lock()
	for j := range s.jobs { // the tasks held: at most concurrency + prefetch
		if j.sid == sid && slices.Contains(seqs, j.seq) {
			j.cancelled = reason
			if j.cancel != nil {
				j.cancel(cause)
			}
		}
	}
	s.mu.Unlock()
}

// load reports how many tasks this worker is running and how many it
// holds (running, waiting to run, or with a result on its way).
func (s *session) load() (running, held int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, len(s.jobs)
}

// heartbeats tells the server every interval that held tasks are in progress.
func (s *session) heartbeats(every time.Duration, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	var held []*job
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		held = held[:0]
		for j := range s.jobs {
			held = append(held, j)
		}
		s.mu.Unlock()
		for _, j := range held {
			_ = j.msg.InProgress()
		}
	}
}
