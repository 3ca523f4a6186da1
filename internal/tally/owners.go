// Package tally holds the counts that the consumers of executor hooks
// (package metrics, package dashboard) keep alike: the executors that count
// their own tasks (Owners) and the workers started and stopped (Workers).
package tally

import (
	"sync"

	"github.com/gofutures/gofutures/executor"
)

// Owners are the executors that count their own tasks
// (executor.Hooks.Own) for one consumer's series: the consumer reads their
// counts when it reports, and keeps what a released owner had accepted.
// The zero value is ready.
type Owners struct {
	mu       sync.Mutex
	owners   map[*owner]struct{}
	released uint64 // tasks accepted by owners that have released
}

type owner struct{ read func() executor.Counts }

// Add registers an owner's read function and returns its release, which
// reads it a last time and keeps its accepted count. Release is
// idempotent.
func (s *Owners) Add(read func() executor.Counts) (release func()) {
	o := &owner{read: read}
	s.mu.Lock()
	if s.owners == nil {
		s.owners = make(map[*owner]struct{})
	}
	s.owners[o] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			last := read()
			s.mu.Lock()
			s.released += last.Submitted
			delete(s.owners, o)
			s.mu.Unlock()
		})
	}
}

// Totals are the counts of the owners.
type Totals struct {
	Submitted uint64 // accepted, by live owners and by released ones
	Queued    uint64 // waiting, in live owners
	Running   uint64 // running, in live owners
	Ended     uint64 // accepted and no longer queued or running; all of a released owner's
}

// Sum reads every live owner, under the lock, so that a release is
// seen whole or not at all.
func (s *Owners) Sum() Totals {
	var t Totals
	s.mu.Lock()
	defer s.mu.Unlock()
	for o := range s.owners {
		c := o.read()
		q, r := uint64(max(c.Queued, 0)), uint64(max(c.Running, 0))
		t.Submitted += c.Submitted
		t.Queued += q
		t.Running += r
		t.Ended += c.Submitted - min(c.Submitted, q+r)
	}
	t.Submitted += s.released
	t.Ended += s.released
	return t
}
