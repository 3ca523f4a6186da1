package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// handshake reads and checks the helper's hello and the initializer's reply.
// A *fatalError means retrying is pointless.
func (w *worker) handshake(rd *wire.Reader, dec *gob.Decoder, br *bytes.Reader) error {
	body, err := rd.NextHello()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return err // teardown says how it ended
		}
		if errors.Is(err, wire.ErrProtocol) {
			return &fatalError{fmt.Errorf("%w: %s: %w", ErrHandshake, w.p.path, err)}
		}
		return fmt.Errorf("reading the helper's hello: %w", err)
	}
	h, err := wire.ParseHello(body)
	if err != nil {
		var ve *wire.VersionError
		if errors.As(err, &ve) {
			return &fatalError{fmt.Errorf("%w: helper %s speaks protocol version %d, this program %d: rebuild the helper", ErrHandshake, w.p.path, ve.Got, ve.Want)}
		}
		return &fatalError{fmt.Errorf("%w: %s: %w", ErrHandshake, w.p.path, err)}
	}
	if err := compareRegistry(w.p.reg.sigs(), h.Funcs); err != nil {
		return &fatalError{fmt.Errorf("%w: helper %s (pid %d) has another registry: %w", ErrHandshake, w.p.path, w.pid, err)}
	}
	if w.p.cfg.init == nil {
		return nil
	}
	kind, body, err := rd.Next()
	if err == nil && kind == wire.KindStarted { // the initializer's started marker
		kind, body, err = rd.Next()
	}
	if err != nil {
		return fmt.Errorf("reading the initializer's reply: %w", err)
	}
	rep, rest, err := wire.ParseReply(body)
	if err != nil || kind&^wire.FlagReset != wire.KindReply || rep.ID != 0 || rep.Started {
		return fmt.Errorf("%w: bad initializer reply (kind %#x): %v", wire.ErrProtocol, kind, err)
	}
	initErr, _, _, perr := w.p.reg.decodeReply(rep, rest, dec, br, w.p.cfg.init)
	if perr != nil {
		return perr
	}
	if initErr != nil {
		return &initError{initErr}
	}
	return nil
}

type fatalError struct{ error }

func (e *fatalError) Unwrap() error { return e.error }

type initError struct{ error }

func (e *initError) Error() string { return "initializer failed: " + e.error.Error() }
func (e *initError) Unwrap() error { return e.error }

// compareRegistry checks that the helper has every function of the host with
// the same types.
func compareRegistry(host, helper []wire.FuncSig) error {
	var missing, differ []string
	for _, h := range host {
		i, ok := slices.BinarySearchFunc(helper, h.Name, func(s wire.FuncSig, n string) int {
			switch {
			case s.Name < n:
				return -1
			case s.Name > n:
				return 1
			}
			return 0
		})
		switch {
		case !ok:
			missing = append(missing, h.Name)
		case helper[i] != h:
			differ = append(differ, fmt.Sprintf("%s(%s) %s, helper has (%s) %s", h.Name, h.Arg, h.Result, helper[i].Arg, helper[i].Result))
		}
	}
	if missing == nil && differ == nil {
		return nil
	}
	return fmt.Errorf("missing functions %q, different types %q", missing, differ)
}

// readLoop does the handshake, then reads started markers and replies and
// completes their tasks until the stream ends; it returns why it ended.
func (w *worker) readLoop() error {
	p := w.p
	rd := wire.NewReader(w.fromHelper, p.cfg.maxFrame)
	br := bytes.NewReader(nil)
	dec := gob.NewDecoder(br)
	hs := time.AfterFunc(p.cfg.startTimeout, func() {
		p.mu.Lock()
		w.startTimedOut = true
		p.mu.Unlock()
		w.kill(executor.ExitCrashed)
	})
	err := w.handshake(rd, dec, br)
	if !hs.Stop() && err != nil {
		err = fmt.Errorf("helper did not start within %v: %w", p.cfg.startTimeout, err)
	}
	if err != nil {
		w.kill(executor.ExitCrashed)
		return err
	}
	p.mu.Lock()
	if w.discarded { // killed at shutdown: its stream ends now
		p.mu.Unlock()
		return io.EOF
	}
	w.ready = true
	p.startFails, p.startKills = 0, 0
	p.growLocked(true)
	w.wakeLocked()
	p.mu.Unlock()
	close(w.readyCh)
	w.log.Info("worker started")
	w.rd, w.dec, w.br = rd, dec, br
	for {
		kind, body, err := rd.Next()
		if err == nil {
			err = w.receive(kind, body, &w.dec, br)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				w.kill(executor.ExitCrashed)
			}
			return err
		}
	}
}

// receive handles one frame from the helper. An error means the helper
// broke the protocol (or the stream ended) and must go.
func (w *worker) receive(kind byte, body []byte, dec **gob.Decoder, br *bytes.Reader) error {
	switch kind &^ wire.FlagReset {
	case wire.KindStarted:
		id, err := wire.ParseStarted(body)
		if err != nil {
			return err
		}
		return w.started(id)
	case wire.KindReply:
	default:
		return fmt.Errorf("%w: unexpected frame kind %#x", wire.ErrProtocol, kind)
	}
	if kind&wire.FlagReset != 0 {
		*dec = gob.NewDecoder(br)
	}
	rep, rest, err := wire.ParseReply(body)
	if err != nil {
		return err
	}
	p := w.p
	notRun := rep.Status == wire.StatusSkipped || rep.Status == wire.StatusNotRun
	head := w.running // a reply to a call that ran is for the one running
	switch {
	case notRun && head == nil: // for the next call, which never started
		var ok bool
		p.mu.Lock()
		head, ok = w.inflight.Peek()
		p.mu.Unlock()
		if !ok || head.id != rep.ID || (rep.Status == wire.StatusNotRun && head.ctx == nil) {
			return fmt.Errorf("%w: reply (status %d) for call %d, which is not the next call", wire.ErrProtocol, rep.Status, rep.ID)
		}
		w.notRun(head, rep.Status)
		if !rep.Started {
			return nil
		}
		p.mu.Lock()
		next, now, err := w.startedLocked(rep.Next)
		p.mu.Unlock()
		if err == nil {
			w.startNotify(next, now)
		}
		return err
	case notRun || head == nil || head.id != rep.ID:
		return fmt.Errorf("%w: reply (status %d) for call %d, which is not the running call", wire.ErrProtocol, rep.Status, rep.ID)
	}
	taskErr, items, inSync, perr := p.reg.decodeReply(rep, rest, *dec, br, head.r)
	if perr != nil {
		return perr
	}
	next, now, err := w.replied(head, inSync, rep)
	p.finish(head, taskErr, items)
	if err == nil && next != nil {
		w.startNotify(next, now)
	}
	return err
}

// started handles the helper's started frame for call id.
func (w *worker) started(id uint64) error {
	p := w.p
	p.mu.Lock()
	head, now, err := w.startedLocked(id)
	p.mu.Unlock()
	if err == nil {
		w.startNotify(head, now)
	}
	return err
}

// startedLocked handles the helper's marker (a frame, or in a reply) that
// it starts call id, which must be the next call: the call counts as
// running (its timer is armed; if it was timed, now is when it started).
// The caller then tells its hooks and StartNotifier (startNotify).
func (w *worker) startedLocked(id uint64) (head *job, now time.Time, err error) {
	head, ok := w.inflight.Peek() // only this goroutine removes jobs
	if !ok || head.id != id || w.headRunning {
		return nil, now, fmt.Errorf("%w: call %d started, which is not the next call", wire.ErrProtocol, id)
	}
	w.headRunning, w.headTimed = true, w.timesLocked()
	if w.headTimed {
		now = time.Now()
		w.headStart = now
		w.armLocked(now)
	}
	w.running = head
	return head, now, nil
}

// startNotify tells the hooks and the StartNotifier of a call that started.
func (w *worker) startNotify(head *job, now time.Time) {
	if h := w.p.cfg.hooks; h != nil {
		head.times.runAt = now
		h.OnStarted(now.Sub(head.times.at))
	}
	if sn, ok := head.r.(driver.StartNotifier); ok {
		sn.StartedOn(strconv.Itoa(w.pid))
	}
}

// notRun handles the reply for a call the helper did not run. Skipped: the
// helper lost its place in our stream, or could not decode the batch the
// call came in; the call goes again (on a new stream, in a frame of its
// own), here or elsewhere. NotRun: its ctx ended before it started; it
// fails with the ctx's cause.
func (w *worker) notRun(head *job, status byte) {
	p := w.p
	p.mu.Lock()
	w.inflight.Pop()
	var fails []failure
	if status == wire.StatusSkipped {
		w.resetStream = true
		head.solo = true // if its batch could not be decoded, it goes alone
		fails = p.returnLocked([]*job{head})
	} else {
		head.w = nil
		fails = []failure{{head, context.Cause(head.ctx)}}
	}
	w.wakeLocked()
	p.mu.Unlock()
	for _, f := range fails {
		p.fail(f.j, f.err)
	}
}

// replied takes the call whose reply was decoded out of the pipeline:
// it updates the run-time average that sizes the pipeline (if the call was
// timed), stops the task timer and wakes the writer when the pipeline is
// half empty (not at every reply, so that calls go to the helper in
// batches), or when the helper must start a new stream (inSync false).
// If the reply says the next call started, that call counts as running
// (startedLocked), under the same lock: next is it.
func (w *worker) replied(head *job, inSync bool, rep wire.Reply) (next *job, now time.Time, err error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	w.inflight.Pop()
	head.w = nil
	w.headRunning, w.running = false, nil
	w.finished++
	if w.finished == 1 {
		p.backoff = 0 // helpers live again
	}
	if !inSync { // the helper starts a new stream for its replies when asked
		w.askPeerReset = true
	}
	if w.headTimed {
		run := time.Since(w.headStart)
		if w.ewma == 0 {
			w.ewma = max(run, 1)
		} else {
			w.ewma = max((7*w.ewma+run)/8, 1)
		}
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.parked && ((p.queue.Len() > 0 && w.hungryLocked()) || w.inflight.Len() == 0 || !inSync) {
		w.wakeLocked()
	}
	if rep.Started {
		return w.startedLocked(rep.Next)
	}
	return nil, now, nil
}

// timesLocked reports whether the call that starts now is timed: every call
// when a task timeout or hooks need its start, or when the helper's calls
// take clockShort or more on average; otherwise one in clockEvery, since
// the pipeline's depth needs only their average, and on this kind of
// machine the two clock reads cost about a tenth of a tiny call's time in
// the host.
func (w *worker) timesLocked() bool {
	return w.timer != nil || w.p.cfg.hooks != nil || w.ewma == 0 || w.ewma >= clockShort || w.finished%clockEvery == 0
}

// armLocked sets the task timer for the call that started at start: the
// call's ctx ends at the task timeout (see Hello.TaskTimeout), and it is
// killed a cancel grace later.
func (w *worker) armLocked(start time.Time) {
	if w.timer != nil {
		w.timer.Reset(w.p.cfg.taskTimeout + w.p.cfg.cancelGrace - time.Since(start))
	}
}

func (w *worker) onTimeout() {
	p := w.p
	p.mu.Lock()
	over := !w.dead && w.headRunning && time.Since(w.headStart) >= p.cfg.taskTimeout+p.cfg.cancelGrace
	p.mu.Unlock()
	if over {
		w.kill(executor.ExitTimeout)
	}
}
