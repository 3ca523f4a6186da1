package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Fair dispatch. A worker asks the server for a task only when it can start
// it soon: it holds what its runners are running, plus a send-ahead sized
// from what it measured, so that workers that join late, or are faster,
// share the work instead of finding it hoarded. The send-ahead covers the
// round trips between a runner becoming free and its next task being
// approved: it is the number of tasks that the runners finish in twice the
// start request's round trip (at least 1 ms), at most WithPrefetch. It is
// 0 until a run time is known, so tasks that take longer than a round trip
// wait in the stream, where any worker can take them.

// leadFloor is the least time the send-ahead covers.
const leadFloor = time.Millisecond

// pacer measures what the send-ahead is sized from.
type pacer struct {
	mu      sync.Mutex
	run     time.Duration // moving average of a call's run time; 0: none yet
	rtt     time.Duration // moving average of a start request's round trip
	maxHold int           // WithPrefetch: the most tasks held beyond the runners
	runners int
}

// ewma folds sample into avg with weight 1/8.
func ewma(avg, sample time.Duration) time.Duration {
	if avg == 0 {
		return sample
	}
	return avg + (sample-avg)/8
}

func (p *pacer) ran(d time.Duration) {
	p.mu.Lock()
	p.run = ewma(p.run, max(d, time.Microsecond))
	p.mu.Unlock()
}

func (p *pacer) roundTrip(d time.Duration) {
	p.mu.Lock()
	p.rtt = ewma(p.rtt, d)
	p.mu.Unlock()
}

// target returns how many tasks the worker should hold: running, approved
// or being approved.
func (p *pacer) target() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	ahead := 0
	if p.run > 0 {
		lead := max(2*p.rtt, leadFloor)
		ahead = int(int64(p.runners) * int64(lead) / int64(p.run))
	}
	return p.runners + min(ahead, p.maxHold)
}

// pull asks the server for tasks while ctx lasts, as many as the pacer's
// target leaves room for: active counts the tasks delivered and not yet
// run (or given back), asked the tasks requested and not yet delivered.
// Every delivery goes to onMsg. It returns when ctx ends and every request
// it made has ended.
func (s *session) pull(ctx context.Context, cons jetstream.Consumer) {
	var asked atomic.Int64
	var open sync.WaitGroup
	defer open.Wait()
	pause := 50 * time.Millisecond
	for {
		want := s.pace.target() - int(s.active.Load()) - int(asked.Load())
		// One request for a quarter of the target or more, unless none is
		// open: fewer, larger requests for fast tasks.
		if want > 0 && (asked.Load() == 0 || want >= max(1, s.pace.target()/4)) {
			b, err := cons.Fetch(want, jetstream.FetchContext(ctx),
				// Short requests with idle heartbeats: one the server lost
				// (seen right after a restart) is noticed within seconds.
				jetstream.FetchHeartbeat(time.Second))
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				s.log.Debug("fetch failed; retrying", zap.Error(err))
				if !sleepCtx(ctx, pause) {
					return
				}
				pause = min(2*pause, 2*time.Second)
				continue
			}
			pause = 50 * time.Millisecond
			asked.Add(int64(want))
			open.Add(1)
			go func(n int) {
				defer open.Done()
				got := 0
				for m := range b.Messages() {
					got++
					s.active.Add(1)
					asked.Add(-1)
					s.onMsg(m)
				}
				asked.Add(-int64(n - got))
				if err := b.Error(); err != nil && !errors.Is(err, context.Canceled) {
					s.log.Debug("fetch ended", zap.Error(err))
				}
				s.poke()
			}(want)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.room:
		}
	}
}

// poke tells pull that it may ask for more.
func (s *session) poke() {
	select {
	case s.room <- struct{}{}:
	default:
	}
}

// idle takes a job out of the active count, once: it ran, or it was given
// back or removed without running.
func (s *session) idle(j *job) {
	if j.idle {
		return
	}
	j.idle = true
	s.active.Add(-1)
	s.poke()
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
