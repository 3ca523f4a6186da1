package pool

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// stream is the engine of Imap and ImapUnordered. It runs entirely in the
// goroutine of the caller's loop: it reads the input, schedules a chunk each
// time one is full, and delivers results between reads, keeping at most ahead
// chunks scheduled and not yet delivered. It starts no goroutine, so leaving
// the loop leaves nothing behind but the tasks already running on the
// executor, whose context is then cancelled and whose results are dropped.
type stream[A, R any] struct {
	p       *Pool
	ctx     context.Context         // the items' context: derived from the call's
	cancel  context.CancelCauseFunc // cancels ctx; the loop's end does
	done    <-chan struct{}         // ctx.Done()
	fn      executor.Func[A, R]
	cs      int
	ahead   int
	ordered bool
	// stopFirst (WithCancelOnError): the first failure cancels ctx, with
	// its *ItemError as the cause, and the loop ends with context.Cause(ctx).
	stopFirst bool
	prog      *progress
	yield     func(R, error) bool
	// yieldIdx, if set, is used instead of yield: ImapUnorderedIndex.
	yieldIdx func(Indexed[R], error) bool
	task     []executor.CallOption // WithTaskOptions

	// Owned by the loop's goroutine.
	queue    []*slot[A, R] // ordered: scheduled chunks in input order, from qhead
	qhead    int
	ready    []*slot[A, R] // unordered: arrived chunks and input errors, from rhead
	rhead    int
	inflight int   // slots scheduled (or input errors) and not delivered
	next     int   // index of the next input item
	stopped  bool  // the loop must end: the caller left it, or an error ended it
	free     [][]A // input buffers of delivered chunks, to reuse

	signal chan struct{} // unordered: a chunk arrived (buffered 1)

	mu        sync.Mutex
	set       []*slot[A, R] // scheduled chunks not delivered, for Terminate and cleanup
	completed []*slot[A, R] // unordered: arrived, not yet taken by the loop
	gone      bool          // the loop has ended
	pending   int           // after the loop ended: chunks not done yet
}

// slot is one chunk of the input, or one input error.
type slot[A, R any] struct {
	f    *future.Future[executor.Chunk[R]] // nil for an input error
	args []A                               // the chunk's items
	base int                               // index of its first item
	n    int                               // number of items
	err  error                             // the input error when f == nil
	pos  int                               // index in stream.set
}

// run is the body of the iterator. Exactly one of in1 and in2 is not nil.
func (s *stream[A, R]) run(in1 iter.Seq[A], in2 iter.Seq2[A, error]) {
	var zero R
	if err := s.p.add(s); err != nil {
		s.emit(-1, zero, err)
		return
	}
	defer s.finish()
	// The first chunk grows as items come, so that a chunk size far larger
	// than the input costs nothing; later chunks are allocated whole.
	//
	// The input is called with a plain func rather than ranged over: the
	// checks a range-over-func loop adds cost a tenth of the throughput
	// with cheap items. Its one guarantee that matters here, that an
	// input going on after false is stopped, is kept by ended: once the
	// loop has ended buf is nil, so the next item takes the append branch,
	// which checks it.
	cs := s.cs
	buf := make([]A, 0, min(cs, 1024))
	ended := false
	end := func() bool {
		ended, buf = true, nil
		return false
	}
	checkEnded := func() {
		if ended {
			panic("pool: the input iterator went on after its yield returned false")
		}
	}
	// item is the yield function of in1, and of in2 for items.
	item := func(a A) bool {
		if len(buf) == cap(buf) { // the first, growing chunk; or the loop has ended
			checkEnded()
			buf = append(buf, a)
		} else {
			buf = buf[:len(buf)+1]
			buf[len(buf)-1] = a
		}
		if len(buf) == cs {
			if !s.flush(buf[:cs:cs]) {
				return end()
			}
			buf = s.buffer()
		}
		return true
	}
	if in1 != nil {
		in1(item)
	} else {
		in2(func(a A, err error) bool {
			if err == nil {
				return item(a)
			}
			checkEnded()
			if len(buf) > 0 {
				if !s.flush(buf[:len(buf):len(buf)]) {
					return end()
				}
				buf = s.buffer()
			}
			s.pushInputError(err)
			if !s.pump() {
				return end()
			}
			return true
		})
	}
	if ended {
		return
	}
	if len(buf) > 0 && !s.flush(buf[:len(buf):len(buf)]) {
		return
	}
	s.prog.end(s.next)
	for !s.stopped && s.inflight > 0 {
		s.deliverOne(true)
	}
}

// flush schedules args as one chunk, then delivers what is ready and waits
// while too much is outstanding. It reports whether the loop goes on.
func (s *stream[A, R]) flush(args []A) bool {
	var zero R
	select {
	case <-s.done:
		s.stop(zero, context.Cause(s.ctx))
		return false
	default:
	}
	base := s.next
	s.next += len(args)
	f, err := executor.CallChunk(s.ctx, s.p.ex, s.fn, args, s.task...)
	if err != nil {
		if s.ctx.Err() != nil {
			s.stop(zero, context.Cause(s.ctx))
			return false
		}
		if s.p.terminated.Load() { // an owned executor refuses because of it
			s.stop(zero, s.p.terminatedErr())
			return false
		}
		// The executor refuses work: deliver what it accepted, then the error.
		for !s.stopped && s.inflight > 0 {
			s.deliverOne(true)
		}
		s.stop(zero, fmt.Errorf("pool: scheduling items %d to %d: %w", base, s.next-1, err))
		return false
	}
	sl := &slot[A, R]{f: f, args: args, base: base, n: len(args)}
	s.mu.Lock()
	sl.pos = len(s.set)
	s.set = append(s.set, sl)
	s.mu.Unlock()
	s.inflight++
	if s.ordered {
		s.queue = append(s.queue, sl)
		if s.stopFirst {
			f.AddDoneCallback(func(*future.Future[executor.Chunk[R]]) { s.check(sl) })
		}
	} else {
		f.AddDoneCallback(func(*future.Future[executor.Chunk[R]]) { s.arrived(sl) })
	}
	return s.pump()
}

// check runs, with stopFirst, in the goroutine that completed sl's chunk: if
// an item failed, it cancels the rest at once, not when the loop gets there.
func (s *stream[A, R]) check(sl *slot[A, R]) {
	if sl.f.Cancelled() { // by the loop's end or Terminate: not an item's failure
		return
	}
	c, err := sl.f.Result(context.Background()) // done: does not block
	if err != nil {
		s.failed(&ItemError{Index: sl.base, Err: err})
		return
	}
	if ie := firstItemErr(sl.base, c.Errs); ie != nil {
		s.failed(ie)
	}
}

// firstItemErr returns the first error of errs, of the chunk whose first
// item has index base, as an *ItemError; nil if there is none.
func firstItemErr(base int, errs []error) *ItemError {
	for i, e := range errs {
		if e != nil {
			return &ItemError{Index: base + i, Err: e}
		}
	}
	return nil
}

// failed cancels ctx with ie as the cause, unless ctx has ended already: the
// cause of ctx is the first failure (or the call's ctx's cause).
func (s *stream[A, R]) failed(ie *ItemError) { s.cancel(ie) }

// stopFailed is how the loop ends with stopFirst at an error: with the
// first failure, which may not be this one (an item that failed later, in
// input order, but earlier in time; or the end of the call's ctx).
func (s *stream[A, R]) stopFailed(ie *ItemError) {
	s.failed(ie)
	var zero R
	s.stop(zero, context.Cause(s.ctx))
}

// buffer returns an empty input buffer of capacity cs.
func (s *stream[A, R]) buffer() []A {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		return b
	}
	return make([]A, 0, s.cs)
}

// stop yields a final error, unless the caller has left already, and ends the loop.
func (s *stream[A, R]) stop(v R, err error) {
	if !s.stopped {
		s.emit(-1, v, err)
		s.stopped = true
	}
}

// emit yields one value with its index (-1 for an error that ends the
// loop) to the loop, in either form. The hot loops of deliver do not use it.
func (s *stream[A, R]) emit(i int, v R, err error) bool {
	if s.yieldIdx != nil {
		return s.yieldIdx(Indexed[R]{Index: i, Value: v}, err)
	}
	return s.yield(v, err)
}

func (s *stream[A, R]) pushInputError(err error) {
	if s.stopFirst {
		s.failed(&ItemError{Index: s.next, Input: true, Err: err})
	}
	sl := &slot[A, R]{base: s.next, n: 1, err: err}
	s.next++
	s.inflight++
	if s.ordered {
		s.queue = append(s.queue, sl)
	} else {
		s.ready = append(s.ready, sl)
	}
}

// pump delivers every result that is ready, then waits and delivers while
// ahead slots or more are outstanding. It reports whether the loop goes on.
func (s *stream[A, R]) pump() bool {
	for !s.stopped && s.deliverOne(false) {
	}
	for !s.stopped && s.inflight >= s.ahead {
		s.deliverOne(true)
	}
	return !s.stopped
}

// deliverOne delivers the next slot, waiting for it if block is set. It
// reports whether it delivered one.
func (s *stream[A, R]) deliverOne(block bool) bool {
	sl, err := s.take(block)
	if err != nil {
		var zero R
		s.stop(zero, err)
		return false
	}
	if sl == nil {
		return false
	}
	s.deliver(sl)
	return true
}

// take returns the next slot to deliver: in ordered mode the oldest, once it
// is done; otherwise the first to arrive. Without block it returns nil if
// none is ready. It returns an error if ctx ends or the pool is terminated.
func (s *stream[A, R]) take(block bool) (*slot[A, R], error) {
	sl, err := s.takeRaw(block)
	// Checked after taking the slot: Terminate sets the flag before it
	// cancels chunks, so a chunk cancelled by Terminate is never delivered.
	if s.p.terminated.Load() {
		return nil, s.p.terminatedErr()
	}
	return sl, err
}

// takeRaw is take without the check for Terminate.
func (s *stream[A, R]) takeRaw(block bool) (*slot[A, R], error) {
	if s.ordered {
		if s.qhead == len(s.queue) {
			return nil, nil
		}
		sl := s.queue[s.qhead]
		if sl.f != nil && !sl.f.Ready() {
			if !block {
				return nil, nil
			}
			select {
			case <-sl.f.Done():
			case <-s.done:
				return nil, context.Cause(s.ctx)
			case <-s.p.term:
				return nil, s.p.terminatedErr()
			}
		}
		s.queue[s.qhead] = nil
		s.qhead++
		if s.qhead == len(s.queue) {
			s.queue, s.qhead = s.queue[:0], 0
		} else if s.qhead >= 64 && 2*s.qhead >= len(s.queue) {
			k := copy(s.queue, s.queue[s.qhead:])
			clear(s.queue[k:])
			s.queue, s.qhead = s.queue[:k], 0
		}
		return sl, nil
	}
	for {
		if s.rhead < len(s.ready) {
			sl := s.ready[s.rhead]
			s.ready[s.rhead] = nil
			s.rhead++
			return sl, nil
		}
		s.mu.Lock()
		if len(s.completed) > 0 {
			s.ready, s.completed = s.completed, s.ready[:0]
			s.rhead = 0
		}
		s.mu.Unlock()
		if s.rhead < len(s.ready) {
			continue
		}
		if !block {
			return nil, nil
		}
		select {
		case <-s.signal:
		case <-s.done:
			return nil, context.Cause(s.ctx)
		case <-s.p.term:
			return nil, s.p.terminatedErr()
		}
	}
}

// deliver yields the items of a slot.
func (s *stream[A, R]) deliver(sl *slot[A, R]) {
	s.inflight--
	var zero R
	if sl.f == nil {
		s.prog.add(1)
		ie := &ItemError{Index: sl.base, Input: true, Err: sl.err}
		if s.stopFirst {
			s.stopFailed(ie)
			return
		}
		if !s.emit(sl.base, zero, ie) {
			s.stopped = true
		}
		return
	}
	s.unset(sl)
	s.prog.add(sl.n)
	c, err := sl.f.Result(context.Background()) // done: does not block
	if cap(sl.args) == s.cs {
		// The task is done with its items (CallChunk's contract): reuse them.
		s.free = append(s.free, sl.args[:0])
	}
	sl.args = nil
	if (err != nil || c.Errs != nil) && s.ctx.Err() != nil {
		// Failed once ctx had ended (for the running items, what they
		// returned; for the others, the executor's removal): the call ends
		// with ctx's cause, as when the loop waits. With stopFirst that is
		// the first failure.
		var ie *ItemError
		if err != nil {
			ie = &ItemError{Index: sl.base, Err: err}
		} else {
			ie = firstItemErr(sl.base, c.Errs)
		}
		if s.stopFirst {
			s.failed(ie)
		}
		s.stop(zero, context.Cause(s.ctx))
		return
	}
	if err != nil {
		if s.stopFirst {
			s.stopFailed(&ItemError{Index: sl.base, Err: err})
			return
		}
		for i := range sl.n {
			if !s.emit(sl.base+i, zero, &ItemError{Index: sl.base + i, Err: err}) {
				s.stopped = true
				return
			}
		}
		return
	}
	if c.Errs == nil && s.yieldIdx == nil {
		for _, v := range c.Values {
			if !s.yield(v, nil) {
				s.stopped = true
				return
			}
		}
		return
	}
	for i, v := range c.Values {
		var e error
		if c.Errs != nil && c.Errs[i] != nil {
			ie := &ItemError{Index: sl.base + i, Err: c.Errs[i]}
			if s.stopFirst {
				s.stopFailed(ie)
				return
			}
			e = ie
		}
		if !s.emit(sl.base+i, v, e) {
			s.stopped = true
			return
		}
	}
}

// unset removes a delivered slot from the set.
func (s *stream[A, R]) unset(sl *slot[A, R]) {
	s.mu.Lock()
	last := len(s.set) - 1
	if sl.pos <= last && s.set[sl.pos] == sl {
		moved := s.set[last]
		s.set[sl.pos] = moved
		moved.pos = sl.pos
		s.set[last] = nil
		s.set = s.set[:last]
	}
	s.mu.Unlock()
}

// arrived runs, in unordered mode, in the goroutine that completed a chunk.
func (s *stream[A, R]) arrived(sl *slot[A, R]) {
	if s.stopFirst {
		s.check(sl)
	}
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.completed = append(s.completed, sl)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// finish runs when the loop ends: it cancels the chunks not started and
// unregisters the stream from the pool once the running ones are done. The
// running ones see their ctx cancelled right after (see imap).
func (s *stream[A, R]) finish() {
	s.mu.Lock()
	s.gone = true
	rest := s.set
	s.set = nil
	s.completed = nil
	s.pending = len(rest) + 1
	s.mu.Unlock()
	for _, sl := range rest {
		sl.f.Cancel()
	}
	settled := s.settled
	for _, sl := range rest {
		sl.f.AddDoneCallback(settled)
	}
	s.settled(nil)
}

func (s *stream[A, R]) settled(*future.Future[executor.Chunk[R]]) {
	s.mu.Lock()
	s.pending--
	last := s.pending == 0
	s.mu.Unlock()
	if last {
		s.p.remove(s)
	}
}

// terminate implements job: it cancels every chunk not started; the loop
// sees the pool terminated and ends with ErrTerminated.
func (s *stream[A, R]) terminate(error) {
	s.mu.Lock()
	rest := append([]*slot[A, R](nil), s.set...)
	s.mu.Unlock()
	for _, sl := range rest {
		sl.f.Cancel()
	}
}
