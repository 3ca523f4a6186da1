package process

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/ring"
	"github.com/gofutures/gofutures/internal/zlog"
	"github.com/gofutures/gofutures/process/internal/wire"
	"go.uber.org/zap/zapcore"
)

const (
	// exitGrace is how long a helper whose stream ended may take to exit by
	// itself (so that its exit status is its own) before it is killed.
	exitGrace = 500 * time.Millisecond
	// stderrGrace is how long stderr is read after the helper exited (a
	// grandchild may still hold it open).
	stderrGrace = 100 * time.Millisecond
	// targetLatency: the pipeline to a helper is kept about this long, given
	// the tasks' average run time, so that long tasks are not queued behind
	// each other on one helper while another one idles.
	targetLatency = time.Millisecond
	// clockShort and clockEvery: while a helper's calls take less than
	// clockShort on average, only one call in clockEvery is timed (see
	// timesLocked).
	clockShort = 20 * time.Microsecond
	clockEvery = 16
	// minBackoff and maxBackoff bound the delay before a helper that died
	// young is replaced.
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// worker is one helper process and the three goroutines that serve it: run
// (start, handshake, then read replies, then tear down), writeLoop (send
// calls) and the stderr reader. Fields marked "p.mu" are guarded by the
// pool's lock.
type worker struct {
	p   *Executor
	id  int
	log *zlog.Logger

	cmd        *exec.Cmd
	pid        int
	toHelper   *os.File
	fromHelper *os.File
	stderr     *os.File
	tail       tail
	wake       chan struct{} // buffered 1
	readyCh    chan struct{} // closed when the handshake and initializer succeeded
	deadCh     chan struct{} // closed at teardown
	writerDone chan struct{}
	stderrDone chan struct{}
	timer      *time.Timer
	journal    []byte // the helper's journal, mapped read-only
	// The reader's stream state, kept for the journal's frames after the
	// helper died (readLoop, then teardown, on one goroutine).
	rd  *wire.Reader
	dec *gob.Decoder
	br  *bytes.Reader

	inflight      ring.Ring[*job]     // p.mu: sent, in order
	headRunning   bool                // p.mu: the helper said it started the head
	headStart     time.Time           // p.mu: when it said so (if headTimed)
	headTimed     bool                // p.mu: the running call's start was timed (timesLocked)
	ewma          time.Duration       // p.mu: average run time of a task
	finished      int                 // p.mu: calls it replied to
	parked        bool                // p.mu: the writer waits on wake
	ready         bool                // p.mu
	dead          bool                // p.mu
	retiring      bool                // p.mu: ran its maximum number of tasks
	reaped        bool                // p.mu: never signal pid again
	startTimedOut bool                // p.mu: killed for not starting in time
	discarded     bool                // p.mu: killed before it was ready, at shutdown, as no task needs it
	resetStream   bool                // p.mu: the writer starts a new gob stream (the helper skips calls until then)
	askPeerReset  bool                // p.mu: the writer asks the helper for a new reply stream
	cancels       []wire.Cancel       // p.mu: cancel frames for the writer to send
	ignoredCancel bool                // p.mu: killed because its call ignored its ctx's end
	reason        executor.WorkerExit // p.mu: why it is going away, once known
	sent          int                 // p.mu
	nextID        uint64              // writer only
	running       *job                // reader only: the head while headRunning
}

func newWorker(p *Executor, id int) *worker {
	w := &worker{
		p: p, id: id, log: p.log.With(zlog.Int("worker", id)),
		wake: make(chan struct{}, 1), readyCh: make(chan struct{}), deadCh: make(chan struct{}),
		writerDone: make(chan struct{}), stderrDone: make(chan struct{}),
	}
	if p.cfg.taskTimeout > 0 {
		w.timer = time.AfterFunc(time.Hour, w.onTimeout)
		w.timer.Stop()
	}
	return w
}

// depthLocked returns how many tasks may be in flight on the helper: about
// targetLatency of work, one until a task's run time is known (so that long
// tasks spread), at most WithMaxInFlight; 0 if it takes no more.
func (w *worker) depthLocked() int {
	if !w.ready || w.dead || w.retiring {
		return 0
	}
	depth := 1
	if w.ewma > 0 {
		depth = int(targetLatency / w.ewma)
	}
	if w.p.testDepth > 0 {
		depth = w.p.testDepth
	}
	return min(max(depth, 1), w.p.cfg.maxInFlight)
}

// roomLocked returns how many more tasks may be sent to the helper now.
func (w *worker) roomLocked() int { return w.depthLocked() - w.inflight.Len() }

// hungryLocked reports whether the helper has room and at most half its
// depth in flight: a task scheduled now should be sent at once. Above
// that, sending it with the next half of the pipeline costs one write for
// many tasks instead of one each, and delays it by nothing, since it
// would wait behind those in flight anyway.
func (w *worker) hungryLocked() bool {
	d := w.depthLocked()
	return d > 0 && 2*w.inflight.Len() <= d
}

func (w *worker) wakeLocked() {
	w.parked = false
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// discardIfUnneeded kills a helper that is still starting when the pool is
// shut down with nothing queued: no task needs it, and Shutdown need not
// wait for it to start in order to tell it to exit. A helper with an
// initializer is left to start (the initializer may be running).
func (w *worker) discardIfUnneeded() {
	p := w.p
	p.mu.Lock()
	discard := p.closed && !p.stopped && p.queue.Len() == 0 && p.cfg.init == nil && !w.ready && !w.dead
	if discard {
		w.discarded = true
		if w.reason == "" {
			w.reason = executor.ExitShutdown
		}
	}
	p.mu.Unlock()
	if discard {
		w.kill(executor.ExitShutdown)
	}
}

// kill records reason (unless one is known) and kills the helper's process group.
func (w *worker) kill(reason executor.WorkerExit) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.reason == "" {
		w.reason = reason
	}
	if w.pid > 0 && !w.reaped {
		_ = syscall.Kill(-w.pid, syscall.SIGKILL)
	}
}

// start starts the helper process.
func (w *worker) start() error {
	p := w.p
	r3, w3, err := os.Pipe()
	if err != nil {
		return err
	}
	r4, w4, err := os.Pipe()
	if err != nil {
		r3.Close()
		w3.Close()
		return err
	}
	re, we, err := os.Pipe()
	if err != nil {
		r3.Close()
		w3.Close()
		r4.Close()
		w4.Close()
		return err
	}
	// Without a journal (no memfd here), the helper writes its replies
	// before each call: the same guarantees, a system call per call.
	jf, journal, jerr := newJournalFile()
	if jerr != nil {
		w.log.Warn("helper without a journal", zlog.Error(jerr))
	}
	cmd := exec.Command(p.path, p.cfg.args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+fmt.Sprint(wire.Version))
	cmd.Env = append(cmd.Env, p.cfg.env...)
	if n := helperProcs(cmd.Env, p.cfg.workers); n > 0 {
		cmd.Env = append(cmd.Env, helperProcsEnv+"="+strconv.Itoa(n))
	}
	cmd.Stdout = os.Stdout
	cmd.Stderr = we
	cmd.ExtraFiles = []*os.File{r3, w4} // fds 3 and 4
	if jf != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, jf) // fd 5
	}
	// SIGTERM, which the helper turns into SIGKILL for its whole process
	// group (see serveMain), so that a task's children die with the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	err = p.sp.Start(cmd)
	r3.Close()
	w4.Close()
	we.Close()
	if jf != nil {
		jf.Close() // the mapping stays
	}
	if err != nil {
		w3.Close()
		r4.Close()
		re.Close()
		if journal != nil {
			_ = syscall.Munmap(journal)
		}
		return err
	}
	w.journal = journal
	w.cmd, w.toHelper, w.fromHelper, w.stderr = cmd, w3, r4, re
	p.mu.Lock()
	w.pid = cmd.Process.Pid
	stopped := p.stopped
	p.mu.Unlock()
	w.log = w.log.With(zlog.Int("pid", w.pid))
	p.cfg.hooks.OnWorkerStarted()
	if stopped {
		w.kill(executor.ExitKilled)
	}
	return nil
}

// run is the worker's life. It starts the helper after delay (a backoff
// after helpers that died young), unless the pool no longer needs it then.
func (w *worker) run(delay time.Duration) {
	p := w.p
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.stopCh:
			t.Stop()
		}
		p.mu.Lock()
		need := p.needWorkerLocked()
		p.mu.Unlock()
		if !need {
			close(w.writerDone)
			close(w.stderrDone)
			w.gone(nil, false, false, nil)
			return
		}
	}
	if err := w.start(); err != nil {
		close(w.writerDone)
		close(w.stderrDone)
		w.gone(fmt.Errorf("process: starting helper %s: %w", w.p.path, err), false, false, nil)
		return
	}
	go w.readStderr()
	go w.writeLoop()
	readErr := w.readLoop()
	w.teardown(readErr)
}

func (w *worker) readStderr() {
	defer close(w.stderrDone)
	readLines(bufio.NewReader(w.stderr), func(line string) {
		w.tail.add(line)
		w.log.Info("helper stderr", zlog.String("line", line))
	})
}

// teardown reaps the helper, fails the task it was running, re-queues the
// others, and replaces it if needed.
func (w *worker) teardown(readErr error) {
	p := w.p
	p.mu.Lock()
	w.dead = true
	w.wakeLocked()
	p.mu.Unlock()
	close(w.deadCh)
	_ = w.toHelper.Close()
	grace := time.AfterFunc(exitGrace, func() { w.kill(executor.ExitCrashed) })
	_ = w.cmd.Wait()
	grace.Stop()
	w.readJournal(readErr)
	p.mu.Lock()
	_ = syscall.Kill(-w.pid, syscall.SIGKILL) // what is left of its process group
	w.reaped = true
	p.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	<-w.writerDone
	_ = w.stderr.SetReadDeadline(time.Now().Add(stderrGrace))
	<-w.stderrDone
	_ = w.stderr.Close()
	_ = w.fromHelper.Close()

	werr := &WorkerError{Pid: w.pid, ExitCode: -1, Stderr: w.tail.String()}
	if st := w.cmd.ProcessState; st != nil {
		werr.ExitCode = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			werr.Signal = ws.Signal()
		}
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		werr.Err = readErr
	}
	p.mu.Lock()
	ready, timedOut, discarded := w.ready, w.startTimedOut, w.discarded
	p.mu.Unlock()
	if discarded { // it never ran anything: not a failure
		w.gone(nil, false, false, nil)
		return
	}
	if !ready {
		cause, killed := readErr, false
		switch {
		case timedOut: // readErr says so
		case cause != nil && !errors.Is(cause, io.EOF):
		case werr.Signal != 0:
			cause, killed = errors.New("killed before the handshake"), true
		default:
			cause = errors.New("exited before the handshake (is process.ServeIfHelper(reg) called first in main?)")
		}
		var ie *initError
		if errors.As(cause, &ie) {
			p.mu.Lock()
			w.reason = executor.ExitInitError
			p.mu.Unlock()
		}
		werr.Err = cause
		var fe *fatalError
		w.gone(werr, errors.As(cause, &fe), killed, nil)
		return
	}
	// A stream the helper broke (bytes that are not frames: a task wrote
	// on its descriptor) cannot say whether the next call had started: it
	// is presumed to have, so that it is failed rather than run again.
	if readErr != nil && !errors.Is(readErr, io.EOF) && !errors.Is(readErr, io.ErrUnexpectedEOF) {
		p.mu.Lock()
		if w.inflight.Len() > 0 {
			w.headRunning = true
		}
		p.mu.Unlock()
	}
	w.gone(nil, false, false, werr)
}

// readJournal, once the helper has exited, takes the frames it had put into
// its journal that the pipe did not bring (the replies of calls that
// finished, the started marker of the call that ran): the stream ended at
// its end, or in a frame cut short, not in bytes that broke the protocol.
func (w *worker) readJournal(readErr error) {
	defer func() {
		if w.journal != nil {
			_ = syscall.Munmap(w.journal)
			w.journal = nil
		}
	}()
	if w.rd == nil || (!errors.Is(readErr, io.EOF) && !errors.Is(readErr, io.ErrUnexpectedEOF)) {
		return
	}
	tail := journalTail(w.journal, w.rd.Offset())
	if len(tail) == 0 {
		return
	}
	rd := wire.NewReader(bytes.NewReader(tail), w.p.cfg.maxFrame)
	frames := 0
	for {
		kind, body, err := rd.Next()
		if err == nil {
			err = w.receive(kind, body, &w.dec, w.br)
		}
		if err != nil {
			w.log.Debug("frames read from the journal of a dead helper", zlog.Int("frames", frames), zlog.Int("bytes", len(tail)))
			return
		}
		frames++
	}
}

// gone removes the worker from the pool. startErr is set if the helper never
// became ready (fatal: do not retry; killed: by a signal from outside, which
// says nothing about the binary); otherwise werr, if set, describes its
// death. Both nil: the worker never started a helper.
func (w *worker) gone(startErr error, fatal, killed bool, werr *WorkerError) {
	p := w.p
	p.mu.Lock()
	w.dead = true
	reason := w.reason
	if reason == "" {
		reason = executor.ExitCrashed
	}
	fails, justBroken := w.settleLocked(reason, startErr, fatal, killed, werr)
	respawn := w.replaceLocked(startErr, werr)
	broken := p.broken
	p.mu.Unlock()
	// The worker leaves the pool (which may then be done) only after its
	// tasks are completed and its hooks called.
	defer func() {
		p.mu.Lock()
		p.removeLocked(w)
		p.wakeLocked() // the others' shares grew
		p.checkDoneLocked()
		p.mu.Unlock()
	}()

	if w.pid == 0 && startErr == nil { // never started: nothing to report
		return
	}
	if w.pid > 0 {
		p.cfg.hooks.OnWorkerStopped(reason)
	}
	w.logExit(reason, respawn, startErr, werr)
	if justBroken {
		p.log.Error("executor broken", zlog.Error(broken))
	}
	for _, f := range fails {
		p.fail(f.j, f.err)
	}
}

// settleLocked decides what becomes of the calls in flight on a helper that
// is gone, and returns those to fail: a helper that failed to start may
// break the pool (then every queued task fails); after Stop every call
// fails; otherwise only the call the helper said it had started ran here
// and fails, and the others, which never started, go back to the queue to
// run elsewhere, once. justBroken reports that this broke the pool.
func (w *worker) settleLocked(reason executor.WorkerExit, startErr error, fatal, killed bool, werr *WorkerError) (fails []failure, justBroken bool) {
	p := w.p
	jobs := w.inflight.Drain()
	switch {
	case startErr != nil:
		if killed {
			p.startKills++
		} else {
			p.startFails++
		}
		if fatal || p.startFails >= maxStartFailures || p.startKills >= maxStartKills {
			justBroken = p.broken == nil
			for _, j := range p.breakLocked(startErr) {
				fails = append(fails, failure{j, p.broken})
			}
		}
	case p.stopped:
		for _, j := range jobs {
			j.w = nil
			fails = append(fails, failure{j, errStoppedRunning})
		}
	case len(jobs) > 0:
		if w.headRunning {
			head := jobs[0]
			head.w = nil
			fails = append(fails, failure{head, w.headError(head, reason, werr)})
			jobs = jobs[1:]
		}
		fails = append(fails, p.returnLocked(jobs)...)
	}
	return fails, justBroken
}

// headError is the error of the call that was running when its helper
// died: the cause of its ctx if it ignored its cancel and was killed for
// it, a *TimeoutError if it overran the task timeout, else werr.
func (w *worker) headError(head *job, reason executor.WorkerExit, werr *WorkerError) error {
	p := w.p
	switch {
	case w.ignoredCancel:
		return fmt.Errorf("process: %w (the task went on for %v after its ctx ended: helper pid %d killed)", context.Cause(head.ctx), p.cfg.cancelGrace, werr.Pid)
	case reason == executor.ExitTimeout:
		return &TimeoutError{Timeout: p.cfg.taskTimeout, Pid: werr.Pid, Stderr: werr.Stderr}
	}
	return werr
}

// replaceLocked starts a helper in place of one that is gone, if the pool
// still needs it, and reports whether it did. A helper that died young
// (before it started, or before it finished a call) is replaced after a
// backoff that doubles each time, so that a helper that cannot live does
// not make the pool fork in a loop.
func (w *worker) replaceLocked(startErr error, werr *WorkerError) bool {
	p := w.p
	var delay time.Duration
	if werr != nil || startErr != nil {
		if startErr != nil || w.finished == 0 {
			p.backoff = min(max(2*p.backoff, minBackoff), maxBackoff)
			delay = p.backoff
		}
	}
	if !p.needWorkerLocked() {
		return false
	}
	p.spawnLocked(delay)
	return true
}

// logExit logs why a helper is gone: at Info for a graceful exit, at Warn
// for a failed start or a death.
func (w *worker) logExit(reason executor.WorkerExit, respawn bool, startErr error, werr *WorkerError) {
	fields := []zapcore.Field{zlog.String("reason", string(reason)), zlog.Bool("respawned", respawn)}
	if werr != nil {
		fields = append(fields, zlog.Int("exit_code", werr.ExitCode))
		if werr.Signal != 0 {
			fields = append(fields, zlog.Stringer("signal", werr.Signal))
		}
	}
	switch {
	case startErr != nil:
		w.log.Warn("helper failed to start", append(fields, zlog.Error(startErr))...)
	case reason == executor.ExitShutdown || reason == executor.ExitMaxTasks:
		w.log.Info("worker exited", fields...)
	default:
		w.log.Warn("worker exited", append(fields, zlog.Error(werr))...)
	}
}
