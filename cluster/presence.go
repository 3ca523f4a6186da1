package cluster

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gofutures/gofutures/cluster/clusterstats"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"go.uber.org/zap"
)

// Worker presence and cluster statistics (see Executor.Stats).
//
// Every worker session announces itself on presenceSubject(stream) once
// when it starts, then every announceEvery, at once when it starts to drain,
// and a last time, saying it leaves, when it stops. The announcement is
// fire and forget (no reply, no stream). Every executor of the stream keeps
// a table of the workers it heard from: a worker that said it leaves, or
// that was not heard from for presenceMissed of its own intervals, is gone.
// The table is pruned when it is read or written, so it needs no goroutine.
//
// The message (version 1), all integers unsigned varints:
//
//	byte     version (1)
//	byte     flags: 1 leaving, 2 draining; other bits are ignored
//	uvarint  interval between announcements, in milliseconds (1..3600000)
//	uvarint  concurrency, running, held (each <= maxPresenceCount)
//	uvarint  pid (<= maxPresenceCount)
//	string   name (<= maxPresenceName bytes), id (1..maxPresenceID), host (<= maxPresenceHost)
//
// where a string is a uvarint length followed by that many bytes of valid
// UTF-8. Bytes after the host are ignored: a later version appends fields
// there and older executors still read what they know. A message longer
// than maxPresenceSize, or with any field out of bounds, is rejected whole.

const (
	announceEvery   = time.Second
	presenceMissed  = 3 // intervals without an announcement after which a worker is gone
	presenceVersion = 1

	presenceLeaving  = 1 << 0
	presenceDraining = 1 << 1

	maxPresenceSize  = 1024
	maxPresenceName  = 256
	maxPresenceID    = 64
	maxPresenceHost  = 255
	maxPresenceCount = math.MaxInt32
	maxPresenceEvery = time.Hour

	// maxWorkersTracked bounds the executor's table of workers, whatever
	// the announcements say.
	maxWorkersTracked = 1 << 14
)

// errBadPresence is wrapped by every error of decodePresence.
var errBadPresence = errors.New("cluster: malformed worker announcement")

// presence is one worker announcement.
type presence struct {
	name, id, host             string
	pid                        int
	concurrency, running, held int
	every                      time.Duration
	leaving, draining          bool
}

// appendPresence appends the encoding of p to b. Strings too long are cut
// (at a rune boundary) and invalid UTF-8 is replaced, counts are clamped to
// their bounds, so that what a worker sends is always accepted.
func appendPresence(b []byte, p *presence) []byte {
	var flags byte
	if p.leaving {
		flags |= presenceLeaving
	}
	if p.draining {
		flags |= presenceDraining
	}
	count := func(n int) uint64 { return uint64(min(max(n, 0), maxPresenceCount)) }
	every := min(max(p.every, time.Millisecond), maxPresenceEvery)
	b = append(b, presenceVersion, flags)
	b = binary.AppendUvarint(b, uint64(every/time.Millisecond))
	b = binary.AppendUvarint(b, count(p.concurrency))
	b = binary.AppendUvarint(b, count(p.running))
	b = binary.AppendUvarint(b, count(p.held))
	b = binary.AppendUvarint(b, count(p.pid))
	for _, f := range []struct {
		s     string
		limit int
	}{{p.name, maxPresenceName}, {p.id, maxPresenceID}, {p.host, maxPresenceHost}} {
		s := clip(f.s, f.limit)
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// clip returns s as valid UTF-8 of at most limit bytes.
func clip(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	s = s[:limit]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1] // drop the cut rune's first bytes
	}
	return s
}

// decodePresence decodes an announcement. It never trusts b: every length
// and number is checked against its bound before use, and what it returns
// is within the bounds that appendPresence keeps. Errors wrap
// errBadPresence.
func decodePresence(b []byte) (presence, error) {
	var p presence
	if len(b) > maxPresenceSize {
		return p, fmt.Errorf("%w: %d bytes, more than %d", errBadPresence, len(b), maxPresenceSize)
	}
	if len(b) < 2 {
		return p, fmt.Errorf("%w: %d bytes", errBadPresence, len(b))
	}
	if b[0] != presenceVersion {
		return p, fmt.Errorf("%w: version %d, want %d", errBadPresence, b[0], presenceVersion)
	}
	p.leaving, p.draining = b[1]&presenceLeaving != 0, b[1]&presenceDraining != 0
	b = b[2:]
	num := func(what string, limit uint64) (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, fmt.Errorf("%w: %s: truncated or overlong number", errBadPresence, what)
		}
		if v > limit {
			return 0, fmt.Errorf("%w: %s %d, more than %d", errBadPresence, what, v, limit)
		}
		b = b[n:]
		return v, nil
	}
	str := func(what string, least, limit int) (string, error) {
		n, err := num(what+" length", uint64(limit))
		if err != nil {
			return "", err
		}
		if int(n) < least || int(n) > len(b) {
			return "", fmt.Errorf("%w: %s of %d bytes, %d left", errBadPresence, what, n, len(b))
		}
		s := b[:n]
		if !utf8.Valid(s) {
			return "", fmt.Errorf("%w: %s is not UTF-8", errBadPresence, what)
		}
		b = b[n:]
		return string(s), nil
	}
	ms, err := num("interval", uint64(maxPresenceEvery/time.Millisecond))
	if err != nil {
		return presence{}, err
	}
	if ms == 0 {
		return presence{}, fmt.Errorf("%w: interval 0", errBadPresence)
	}
	p.every = time.Duration(ms) * time.Millisecond
	for _, f := range []struct {
		what string
		to   *int
	}{{"concurrency", &p.concurrency}, {"running", &p.running}, {"held", &p.held}} {
		v, err := num(f.what, maxPresenceCount)
		if err != nil {
			return presence{}, err
		}
		*f.to = int(v)
	}
	pid, err := num("pid", maxPresenceCount)
	if err != nil {
		return presence{}, err
	}
	p.pid = int(pid)
	if p.name, err = str("name", 0, maxPresenceName); err != nil {
		return presence{}, err
	}
	if p.id, err = str("id", 1, maxPresenceID); err != nil {
		return presence{}, err
	}
	if p.host, err = str("host", 0, maxPresenceHost); err != nil {
		return presence{}, err
	}
	return p, nil // trailing bytes: fields of a later version
}

// announce publishes this worker's presence until stop is closed. session.run
// runs it in a goroutine of its own once the worker consumes tasks.
func (s *session) announce(stop <-chan struct{}) {
	host, _ := os.Hostname()
	p := presence{name: s.cfg.name, id: nuid.Next(), host: host, pid: os.Getpid(),
		concurrency: s.cfg.concurrency, every: announceEvery}
	subj := presenceSubject(s.cfg.stream)
	var buf []byte
	send := func() {
		p.running, p.held = s.load()
		p.draining = p.draining || s.stopping.Load()
		buf = appendPresence(buf[:0], &p)
		if err := s.nc.Publish(subj, buf); err != nil {
			s.log.Debug("presence not announced", zap.Error(err))
		}
	}
	send()
	t := time.NewTicker(announceEvery)
	defer t.Stop()
	draining := (<-chan struct{})(s.stop)
	for {
		select {
		case <-stop:
			p.leaving, p.draining = true, true
			send()
			return
		case <-draining:
			draining = nil // say it at once, then with every tick
			p.draining = true
		case <-t.C:
		}
		send()
	}
}

// Stats returns the executor's counters, the workers it hears from and the
// depth of the task stream. It blocks for one request to the server (the
// consumer's info), until ctx ends; everything else is this executor's own
// and costs a lock. If the request fails (ctx ended, no connection, after
// Shutdown) Stats returns an error wrapping the cause, and Stats still
// holds everything but StreamDepth and AckPending, which are zero. It is
// safe for concurrent use. Package metrics exports it to Prometheus
// (metrics.NewClusterCollector(reg, name, ex.Stats)), package dashboard
// shows it (d.Cluster(name, ex.Stats)).
func (e *Executor) Stats(ctx context.Context) (clusterstats.Stats, error) {
	if ctx == nil {
		panic("cluster: nil Context")
	}
	st := clusterstats.Stats{
		Workers:               e.stats.live(time.Now()),
		Redeliveries:          e.stats.redeliveries.Load(),
		DeliveryLimitFailures: e.stats.deliveryLimit.Load(),
		AckLatency:            e.stats.ack.snapshot(),
	}
	cons, err := e.js.Consumer(ctx, e.cfg.stream, consumerName)
	if err != nil {
		return st, fmt.Errorf("cluster: stream statistics of %s: %w", e.cfg.stream, err)
	}
	info := cons.CachedInfo() // fresh: Consumer just asked the server
	st.StreamDepth, st.AckPending = info.NumPending, info.NumAckPending
	return st, nil
}

// clusterStats holds the executor's counters and its table of live workers.
// Its zero value is ready; it has a lock of its own (never taken with e.mu
// held by this file, and e.mu is never taken under it).
type clusterStats struct {
	redeliveries  atomic.Uint64
	deliveryLimit atomic.Uint64
	ack           ackHistogram
	warned        atomic.Bool // a malformed announcement was logged at Warn

	mu      sync.Mutex
	workers map[string]*clusterstats.Worker // by id
	every   map[string]time.Duration
	pruned  time.Time
}

// see records an announcement received at now.
func (c *clusterStats) see(p *presence, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.leaving {
		delete(c.workers, p.id)
		delete(c.every, p.id)
		return
	}
	if c.workers == nil {
		c.workers, c.every = map[string]*clusterstats.Worker{}, map[string]time.Duration{}
	}
	w := c.workers[p.id]
	if w == nil {
		if len(c.workers) >= maxWorkersTracked {
			if now.Sub(c.pruned) >= announceEvery { // at most once a second, whatever comes
				c.pruneLocked(now)
			}
			if len(c.workers) >= maxWorkersTracked {
				return // it announces again in a second
			}
		}
		w = &clusterstats.Worker{}
		c.workers[p.id] = w
	}
	*w = clusterstats.Worker{Name: p.name, ID: p.id, Host: p.host, PID: p.pid, Concurrency: p.concurrency,
		Running: p.running, Held: p.held, Draining: p.draining, LastSeen: now}
	c.every[p.id] = p.every
	if now.Sub(c.pruned) >= announceEvery {
		c.pruneLocked(now)
	}
}

// pruneLocked forgets the workers not heard from for presenceMissed intervals.
func (c *clusterStats) pruneLocked(now time.Time) {
	c.pruned = now
	for id, w := range c.workers {
		if !c.freshLocked(w, now) {
			delete(c.workers, id)
			delete(c.every, id)
		}
	}
}

func (c *clusterStats) freshLocked(w *clusterstats.Worker, now time.Time) bool {
	return now.Sub(w.LastSeen) <= presenceMissed*c.every[w.ID]
}

// live returns the workers heard from recently, by name and id.
func (c *clusterStats) live(now time.Time) []clusterstats.Worker {
	c.mu.Lock()
	out := make([]clusterstats.Worker, 0, len(c.workers))
	for _, w := range c.workers {
		if c.freshLocked(w, now) {
			out = append(out, *w)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b clusterstats.Worker) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out
}

// capacity returns the total concurrency of the live workers that are not
// draining.
func (c *clusterStats) capacity(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.workers {
		if !w.Draining && c.freshLocked(w, now) {
			n += w.Concurrency
		}
	}
	return n
}

// ackBounds are the upper bounds of the ack latency histogram: from 100µs
// (an embedded server) to 10s (a server far away, or in trouble).
var ackBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// ackHistogram counts observations per bucket (not cumulative; the last
// cell counts those above every bound) with atomic additions only, so that
// it can be observed under e.mu.
type ackHistogram struct {
	counts [len(ackBounds) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

func (h *ackHistogram) observe(d time.Duration) {
	d = max(d, 0)
	i, _ := slices.BinarySearch(ackBounds[:], d) // first bound >= d
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *ackHistogram) snapshot() clusterstats.Histogram {
	out := clusterstats.Histogram{Bounds: slices.Clone(ackBounds[:]), Counts: make([]uint64, len(ackBounds))}
	for i := range ackBounds {
		out.Count += h.counts[i].Load()
		out.Counts[i] = out.Count
	}
	out.Count += h.counts[len(ackBounds)].Load()
	out.Sum = time.Duration(h.sum.Load())
	return out
}

// observeAck records the server's confirmation of a task stored d after it
// was published. publish.go's onStored calls it, under e.mu.
func (e *Executor) observeAck(d time.Duration) { e.stats.ack.observe(d) }

// watchPresence subscribes the executor to the workers' announcements. It is
// called once from start, after the executor's own subscriptions; teardown
// unsubscribes it with them.
func (e *Executor) watchPresence() error {
	sub, err := e.nc.Subscribe(presenceSubject(e.cfg.stream), e.onPresence)
	if err != nil {
		return fmt.Errorf("cluster: subscribe to worker presence: %w", err)
	}
	e.subs = append(e.subs, sub)
	return nil
}

// onPresence records a worker's announcement.
func (e *Executor) onPresence(m *nats.Msg) {
	p, err := decodePresence(m.Data)
	if err != nil {
		if e.stats.warned.CompareAndSwap(false, true) {
			e.log.Warn("malformed worker announcement ignored (further ones are logged at debug level)", zap.Error(err))
		} else {
			e.log.Debug("malformed worker announcement ignored", zap.Error(err))
		}
		return
	}
	e.stats.see(&p, time.Now())
}

// noteRedelivery counts a start request for a task that a worker had
// started before (the server redelivered it).
func (e *Executor) noteRedelivery() { e.stats.redeliveries.Add(1) }

// noteDeliveryLimit counts a task failed with a *DeliveryError.
func (e *Executor) noteDeliveryLimit() { e.stats.deliveryLimit.Add(1) }
