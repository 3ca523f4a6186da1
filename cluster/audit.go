package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// A task's message can leave the stream without its result reaching this
// executor in one case: workers could not reach the executor (it was
// disconnected, or the network between them was cut) for longer than the
// whole back-off schedule, so the task reached its delivery limit and its
// report went nowhere. The audit finds such tasks, those still held here
// whose message is no longer in the stream, and publishes them again under
// a new id. It looks only at tasks published longer ago than the back-off
// schedule, at most once per that period each: one stream lookup per task.

// auditAge returns how old a task must be to be audited: the back-off
// schedule plus one ack wait.
func auditAge(cfg *config) time.Duration {
	var d time.Duration
	for _, b := range backOff(cfg) {
		d += b
	}
	return d + cfg.ackWait
}

func (e *Executor) auditLoop() {
	defer e.bg.Done()
	t := time.NewTicker(max(e.auditAge/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
			e.audit()
		}
	}
}

func (e *Executor) audit() {
	now := time.Now()
	var suspects []*entry
	e.mu.Lock()
	for _, en := range e.tasks {
		if en.streamSeq != 0 && now.Sub(en.pubAt) > e.auditAge && now.Sub(en.checked) > e.auditAge {
			en.checked = now
			suspects = append(suspects, en)
		}
	}
	e.mu.Unlock()
	if len(suspects) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	rctx, rcancel := context.WithTimeout(ctx, e.cfg.requestTimeout)
	st, err := e.js.Stream(rctx, e.cfg.stream)
	rcancel()
	if err != nil {
		e.log.Debug("audit: stream unavailable", zap.Error(err))
		return
	}
	for _, en := range suspects {
		e.mu.Lock()
		sseq := en.streamSeq
		e.mu.Unlock()
		rctx, rcancel := context.WithTimeout(ctx, e.cfg.requestTimeout)
		_, err := st.GetMsg(rctx, sseq)
		rcancel()
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		data, err := e.codec.encodeCall(en.r)
		if err != nil {
			continue
		}
		e.mu.Lock()
		lost := e.tasks[en.seq] == en && !e.stopped && en.streamSeq == sseq
		if lost {
			en.gen++
			en.streamSeq, en.data, en.pubAt = 0, data, time.Now()
			e.unstored[en.seq] = en
		}
		e.mu.Unlock()
		if lost {
			e.log.Warn("task message left the stream without a result; publishing it again",
				zap.Uint64("task", en.seq), zap.Int("time", en.gen))
			e.publish(en, data)
		}
	}
}
