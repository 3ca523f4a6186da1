package cluster

import (
	"bytes"
	"strconv"
	"time"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Publishing: every task message asks the server for a confirmation (the
// JetStream PubAck) on ackPrefix<seq>, without waiting for it. A task the
// server did not confirm within the publish timeout, or refused (no stream
// yet, a leader election, a restart), is published again after a pause; the
// server drops a copy it already stored (same Nats-Msg-Id). So a task that
// Schedule accepted reaches the stream as long as this executor runs.

// publish sends a task message.
func (e *Executor) publish(en *entry, data []byte) {
	m := &nats.Msg{
		Subject: e.subj,
		Reply:   e.ackPrefix + strconv.FormatUint(en.seq, 10),
		Header:  nats.Header{jetstream.MsgIDHeader: []string{taskID(e.sid, en.seq, en.gen)}},
		Data:    data,
	}
	if en.deadline != 0 {
		m.Header[deadlineHeader] = []string{formatDeadline(en.deadline)}
	}
	if cr, ok := en.r.(driver.Carrier); ok {
		addMetaHeaders(m.Header, cr.ContextMetadata())
	}
	if err := e.nc.PublishMsg(m); err != nil {
		e.log.Debug("publish failed; will retry", zap.Uint64("task", en.seq), zap.Error(err))
		e.requeue(en.seq)
	}
}

var errorKey = []byte(`"error"`)

// onStored receives the server's confirmation (or refusal) of a task message.
func (e *Executor) onStored(m *nats.Msg) {
	seq, err := strconv.ParseUint(m.Subject[len(e.ackPrefix):], 10, 64)
	if err != nil {
		return
	}
	// A refusal is a JSON error, or a status message (503: no responders).
	if m.Header.Get("Status") != "" || bytes.Contains(m.Data, errorKey) {
		e.log.Debug("task not stored; will retry", zap.Uint64("task", seq), zap.ByteString("reply", m.Data),
			zap.String("status", m.Header.Get("Status")))
		e.requeue(seq)
		return
	}
	sseq := streamSeq(m.Data)
	e.mu.Lock()
	if en := e.unstored[seq]; en != nil {
		e.storedLocked(en)
		en.streamSeq = sseq
		e.observeAck(time.Since(en.pubAt))
	}
	e.mu.Unlock()
}

var seqKey = []byte(`"seq":`)

// streamSeq extracts the stream sequence from a PubAck ({"stream":"S","seq":N,...}),
// or returns 0.
func streamSeq(ack []byte) uint64 {
	i := bytes.Index(ack, seqKey)
	if i < 0 {
		return 0
	}
	var n uint64
	for _, c := range ack[i+len(seqKey):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// storedLocked records that the server holds en: its bytes are not needed.
func (e *Executor) storedLocked(en *entry) {
	delete(e.unstored, en.seq)
	en.data = nil
}

// forgetLocked drops a finished task and stops watching its submit context.
func (e *Executor) forgetLocked(en *entry) {
	delete(e.tasks, en.seq)
	delete(e.unstored, en.seq)
	if en.stop != nil {
		en.stop() // never waits: the AfterFunc runs in its own goroutine, which takes e.mu
		en.stop = nil
	}
}

func (e *Executor) requeue(seq uint64) {
	e.mu.Lock()
	en := e.unstored[seq]
	ok := en != nil && !e.stopped && !en.queued
	if ok {
		en.queued = true
		e.retry = append(e.retry, en)
	}
	e.mu.Unlock()
	if ok {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// retryLoop publishes again the tasks the server refused or did not confirm
// in time, after a pause so that a server restart or an election is waited
// out.
func (e *Executor) retryLoop() {
	defer e.bg.Done()
	tick := time.NewTicker(max(e.cfg.pubAckTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	pause := time.NewTimer(0)
	<-pause.C
	var warned time.Time // at most one warning every 5 s
	for {
		select {
		case <-e.quit:
			return
		case <-e.wake:
		case now := <-tick.C:
			e.mu.Lock()
			for _, en := range e.unstored {
				if !en.queued && now.Sub(en.pubAt) > e.cfg.pubAckTimeout {
					en.queued = true
					e.retry = append(e.retry, en)
				}
			}
			n := len(e.retry)
			e.mu.Unlock()
			if n == 0 {
				continue
			}
		}
		pause.Reset(50 * time.Millisecond)
		select {
		case <-e.quit:
			pause.Stop()
			return
		case <-pause.C:
		}
		now := time.Now()
		e.mu.Lock()
		type pub struct {
			en   *entry
			data []byte
		}
		var again []pub
		for _, en := range e.retry {
			en.queued = false
			if e.unstored[en.seq] == en {
				en.pubAt = now
				again = append(again, pub{en, en.data})
			}
		}
		e.retry = nil
		e.mu.Unlock()
		if len(again) > 0 {
			lvl := zap.DebugLevel
			if now.Sub(warned) > 5*time.Second {
				lvl, warned = zap.WarnLevel, now
			}
			e.log.Log(lvl, "the server did not store some tasks (restarting, electing a stream leader, or unreachable): publishing them again",
				zap.Int("tasks", len(again)), zap.Bool("connected", e.nc.IsConnected()))
		}
		for _, p := range again {
			e.publish(p.en, p.data)
		}
	}
}
