package cluster

import (
	"errors"
	"sync"
	"time"

	"github.com/gofutures/gofutures/cluster/internal/wire"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// A batcher sends one kind of request to one submitter, group-commit style:
// jobs queue while a request is in flight, and the next request carries all
// of them. Under load this batches many tasks per round trip; when idle a job
// goes at once. Its goroutine exits when the queue is empty.
type batcher struct {
	s       *session
	key     batchKey
	subject string

	mu   sync.Mutex
	q    []*job
	busy bool
}

type batchKind int

const (
	kindStart batchKind = iota
	kindResult
)

type batchKey struct {
	sid  string
	kind batchKind
}

// maxBatch bounds the jobs of one request.
const maxBatch = 4096

func (s *session) batcher(sid string, kind batchKind) *batcher {
	k := batchKey{sid, kind}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.batchers[k]
	if b == nil {
		subj := startSubject(s.cfg.stream, sid)
		if kind == kindResult {
			subj = resultSubject(s.cfg.stream, sid)
		}
		b = &batcher{s: s, key: k, subject: subj}
		s.batchers[k] = b
	}
	return b
}

func (b *batcher) add(j *job) {
	if b.key.kind == kindResult {
		b.s.unsettled(1)
	}
	b.mu.Lock()
	b.q = append(b.q, j)
	if b.busy {
		b.mu.Unlock()
		return
	}
	b.busy = true
	b.mu.Unlock()
	b.s.wg.Add(1)
	go b.loop()
}

func (b *batcher) loop() {
	defer b.s.wg.Done()
	for {
		b.mu.Lock()
		if len(b.q) == 0 {
			b.busy = false
			b.mu.Unlock()
			return
		}
		n := b.take()
		batch := b.q[:n:n]
		b.q = b.q[n:]
		if len(b.q) == 0 {
			b.q = nil
		}
		b.mu.Unlock()
		if b.key.kind == kindStart {
			b.flushStart(batch)
		} else {
			b.flushResults(batch)
		}
	}
}

// take returns how many queued jobs fit in one request.
func (b *batcher) take() int {
	n := min(len(b.q), maxBatch)
	if b.key.kind == kindStart {
		return n
	}
	size := 0
	for i := range n {
		size += b.q[i].res.Size()
		if size > b.s.maxResult && i > 0 {
			return i
		}
	}
	return n
}

func (b *batcher) flushStart(batch []*job) {
	s := b.s
	seqs := make([]uint64, len(batch))
	for i, j := range batch {
		seqs[i] = j.seq
	}
	t0 := time.Now()
	resp, err := s.nc.Request(b.subject, wire.AppendSeqs(nil, seqs), s.cfg.requestTimeout)
	if err == nil {
		s.pace.roundTrip(time.Since(t0))
	}
	if err == nil && len(resp.Data) != len(batch) {
		err = errors.New("malformed start reply")
	}
	if err != nil {
		// Submitter unreachable (gone, or reconnecting): try again later;
		// after the delivery limit the task is reported and removed.
		s.log.Debug("start request failed", zap.String("submitter", b.key.sid), zap.Error(err))
		for _, j := range batch {
			s.release(j, nak, "", s.delay(j.attempts))
		}
		return
	}
	for i, j := range batch {
		switch {
		case resp.Data[i] == wire.Limit:
			s.log.Warn("task reached its delivery limit: removed", zap.String("submitter", b.key.sid), zap.Uint64("task", j.seq))
			s.release(j, term, "delivery limit reached", 0)
		case resp.Data[i] != wire.Run && resp.Data[i] != wire.Alone:
			s.release(j, term, "cancelled or finished", 0)
		case s.stopping.Load():
			s.release(j, nak, "", 0) // draining: hand it back, not started
		default:
			j.alone = resp.Data[i] == wire.Alone
			s.runJob(j)
		}
	}
}

func (b *batcher) flushResults(batch []*job) {
	s := b.s
	defer s.unsettled(-len(batch))
	var payload []byte
	for _, j := range batch {
		payload = wire.AppendResult(payload, &j.res)
	}
	var err error
	for try := range 4 {
		if _, err = s.nc.Request(b.subject, payload, s.cfg.requestTimeout); err == nil {
			break
		}
		if errors.Is(err, nats.ErrConnectionClosed) || s.stopping.Load() {
			break // a stopping worker returns the tasks to the server instead
		}
		s.log.Debug("result request failed", zap.String("submitter", b.key.sid), zap.Int("try", try), zap.Error(err))
		t := time.NewTimer(time.Duration(try+1) * 100 * time.Millisecond)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
		}
	}
	for _, j := range batch {
		switch {
		case j.res.Status == wire.StatusLimit:
			s.release(j, term, "delivery limit reached", 0)
		case j.res.Status == wire.StatusRetry:
			s.release(j, nak, "", s.delay(j.attempts))
		case err == nil:
			s.release(j, ack, "", 0)
		default:
			// The submitter did not confirm: run it again later (its
			// duplicate result, if the first did arrive, is ignored).
			s.release(j, nak, "", s.delay(j.attempts))
		}
	}
}
