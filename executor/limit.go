package executor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// KeyLimit bounds, for each key, how many tasks run at once and how fast
// they start: "at most 2 requests in flight and 5 per second to each host",
// on one pool, with the hosts independent of each other. The key of a task
// is computed from its argument by the function given to NewKeyLimit (for a
// chunk, from its first item). Pass the same *KeyLimit to every call whose
// tasks share the limits (it is a CallOption; package pool takes it through
// pool.WithTaskOptions).
//
// A task whose key is at its limit waits outside the executor, without
// holding a worker and without blocking the caller or the tasks of other
// keys; it is scheduled, in the order it came, when a task of its key ends
// or the key's rate allows. If its ctx ends while it waits, its future fails
// at once with context.Cause(ctx); if the executor refuses it then, its
// future fails with the executor's error. A retry waits for its key again.
// The limits count attempts: a task between two attempts holds no slot.
//
// A KeyLimit keeps the state of the keys that have tasks, and forgets a key
// when its last task ends (with a rate: if its burst is full again then). It
// is safe for concurrent use; it costs a lock per attempt, two allocations
// per task (the done-callback that lets go of its key), two more for a key
// that had no state, and, for a task that must wait, a small allocation and
// a context.AfterFunc.
type KeyLimit[A any] struct {
	key  func(A) string
	conc int
	r    rate.Limit
	b    int

	mu   sync.Mutex
	keys map[string]*keyState
}

// KeyOption configures a KeyLimit.
type KeyOption interface {
	applyKey(*keyConfig)
}

type keyConfig struct {
	conc  int
	r     rate.Limit
	burst int
}

type keyFunc func(*keyConfig)

func (f keyFunc) applyKey(c *keyConfig) { f(c) }

// KeyConcurrency lets at most n tasks of each key run at once. Default:
// unbounded. n < 1 makes the calls that use the KeyLimit fail.
func KeyConcurrency(n int) KeyOption { return keyFunc(func(c *keyConfig) { c.conc = n }) }

// KeyRate lets the tasks of each key start at most r per second, in bursts
// of at most burst (a rate.Limiter per key). Default: no rate. A burst < 1
// with a finite rate makes the calls that use the KeyLimit fail.
func KeyRate(r rate.Limit, burst int) KeyOption {
	return keyFunc(func(c *keyConfig) { c.r, c.burst = r, burst })
}

// NewKeyLimit returns a KeyLimit that keys tasks by key(arg) (for URL
// fetching, the URL's host). It does not block.
func NewKeyLimit[A any](key func(A) string, opts ...KeyOption) *KeyLimit[A] {
	c := keyConfig{r: rate.Inf}
	for _, o := range opts {
		o.applyKey(&c)
	}
	return &KeyLimit[A]{key: key, conc: c.conc, r: c.r, b: c.burst, keys: map[string]*keyState{}}
}

// keyLimiter is the untyped side of a KeyLimit, for callConfig.
type keyLimiter interface {
	name() string
	validate() error
}

func (k *KeyLimit[A]) name() string { return fmt.Sprintf("KeyLimit[%T]", *new(A)) }

func (k *KeyLimit[A]) validate() error {
	set := false
	if k.conc != 0 {
		if k.conc < 1 {
			return fmt.Errorf("executor: KeyConcurrency must be >= 1, got %d", k.conc)
		}
		set = true
	}
	if k.r != rate.Inf {
		if k.b < 1 || k.r <= 0 {
			return fmt.Errorf("executor: KeyRate needs a rate > 0 and a burst >= 1, got %v and %d", k.r, k.b)
		}
		set = true
	}
	if !set || k.key == nil {
		return fmt.Errorf("executor: %s has no key function or no limit", k.name())
	}
	return nil
}

func (k *KeyLimit[A]) applyCall(c *callConfig) { c.keys = k }
func (k *KeyLimit[A]) applyMap(c *mapConfig)   { c.call = append(c.call, k) }

// Keys returns the number of keys the KeyLimit holds state for now (those
// with tasks running or waiting, or a rate not recovered). It takes the
// lock briefly.
func (k *KeyLimit[A]) Keys() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// state returns the state of key, made if needed.
func (k *KeyLimit[A]) state(key string) *keyState {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stateLocked(key)
}

func (k *KeyLimit[A]) stateLocked(key string) *keyState {
	s := k.keys[key]
	if s == nil {
		s = &keyState{mu: &k.mu, key: key, conc: k.conc, forget: k.forgetLocked}
		if k.r != rate.Inf {
			s.lim = rate.NewLimiter(k.r, k.b)
		}
		k.keys[key] = s
	}
	s.refs++
	return s
}

func (k *KeyLimit[A]) forgetLocked(s *keyState) {
	if k.keys[s.key] == s {
		delete(k.keys, s.key)
	}
}

// keyState is one key's slots, rate and waiting attempts. Its fields are
// guarded by mu, the KeyLimit's lock.
type keyState struct {
	mu      *sync.Mutex
	key     string
	conc    int           // 0: unbounded
	lim     *rate.Limiter // nil: no rate
	forget  func(*keyState)
	refs    int // tasks bound to this state and not finished
	running int
	waiting []*extra
	timer   *time.Timer // armed while the head waits for the rate
}

// enter takes a slot for x's attempt and reports true, or queues x and
// reports false: it is scheduled when there is room, or fails at once if
// its ctx ends first.
func (s *keyState) enter(x *extra) bool {
	s.mu.Lock()
	if len(s.waiting) == 0 && s.roomLocked() {
		s.running++
		x.holding = true
		s.mu.Unlock()
		return true
	}
	s.waiting = append(s.waiting, x)
	if x.ctx.Done() != nil {
		x.unpark = context.AfterFunc(x.ctx, func() {
			if s.remove(x) {
				x.task.Fail(context.Cause(x.ctx))
			}
		})
	}
	s.armLocked()
	s.mu.Unlock()
	return false
}

// remove takes x out of the queue and reports whether it was there.
func (s *keyState) remove(x *extra) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeLocked(x)
}

func (s *keyState) removeLocked(x *extra) bool {
	for i, w := range s.waiting {
		if w == x {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// roomLocked reports whether an attempt may start now, and takes a token
// of the rate if so.
func (s *keyState) roomLocked() bool {
	if s.conc > 0 && s.running >= s.conc {
		return false
	}
	return s.lim == nil || s.lim.Allow()
}

// leave gives back x's slot, if it holds one, and schedules the attempts
// that can start now. finished says that x's task is done: it no longer
// counts on the key, which is forgotten once idle.
func (s *keyState) leave(x *extra, finished bool) {
	s.mu.Lock()
	if x.holding {
		x.holding = false
		s.running--
	}
	if finished {
		s.removeLocked(x) // cancelled while it waited
		if x.unpark != nil {
			x.unpark()
		}
		s.refs--
	}
	granted := s.pumpLocked()
	if s.refs == 0 && s.running == 0 && len(s.waiting) == 0 && s.timer == nil &&
		(s.lim == nil || s.lim.Tokens() >= float64(s.lim.Burst())) {
		s.forget(s)
	}
	s.mu.Unlock()
	for _, g := range granted {
		g.scheduleGranted()
	}
}

// pumpLocked takes slots for the waiting attempts that can start, in
// order, and returns them to schedule once the lock is released.
func (s *keyState) pumpLocked() []*extra {
	var granted []*extra
	for len(s.waiting) > 0 {
		x := s.waiting[0]
		if x.ctx.Err() != nil { // its AfterFunc fails it
			break
		}
		if !s.roomLocked() {
			s.armLocked()
			break
		}
		s.waiting[0] = nil
		s.waiting = s.waiting[1:]
		if x.unpark != nil {
			x.unpark() // if it runs anyway, it finds x gone; Schedule fails x
		}
		s.running++
		x.holding = true
		granted = append(granted, x)
	}
	if len(s.waiting) == 0 {
		s.waiting = nil
	}
	return granted
}

// armLocked arms the timer that wakes the head of the queue when the rate
// allows it, if the rate is what holds it back.
func (s *keyState) armLocked() {
	if s.lim == nil || s.timer != nil || (s.conc > 0 && s.running >= s.conc) {
		return
	}
	r := s.lim.Reserve()
	d := r.Delay()
	r.Cancel()
	s.timer = time.AfterFunc(max(d, time.Millisecond), func() {
		s.mu.Lock()
		s.timer = nil
		granted := s.pumpLocked()
		s.mu.Unlock()
		for _, g := range granted {
			g.scheduleGranted()
		}
	})
}
