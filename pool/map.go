package pool

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/future"
)

// Map applies fn to every item on the pool and returns the results in input
// order (Python's map). It has no fail-fast: it waits until every chunk has
// returned, then returns the results, or nil and the error of the first
// failed item in input order (an *ItemError wrapping the cause). Empty input
// returns an empty slice at once.
//
// Items are split into chunks (WithChunkSize; default ceil(len(items) /
// (4 × workers))), each scheduled as one task. At most a window of chunks
// is scheduled and not yet returned at any time (WithChunksInFlight, counted in
// chunks; default 16 × workers, which holds every chunk of the default chunk
// size): Map schedules the first window, then, in the caller's goroutine,
// the next chunks each time half the window has returned. Besides the
// results slice, which the chunks write in place, a Map thus holds memory
// for at most a window of chunks (a future and a task each), however many
// items there are, and it starts no goroutine. items is not copied: do not
// change it until Map returns. The items run with a context derived from ctx (see
// executor.Submit): they see its values, its deadline and its end. Map
// blocks until the results are ready or ctx ends; when ctx ends first,
// chunks not started are cancelled (they never run), no more are scheduled,
// running items see ctx.Done(), and Map returns ctx's cause at once. With
// WithCancelOnError, the first item to fail cancels the rest, and Map
// returns its error once every chunk scheduled has returned. It fails with
// ErrClosed after Close or Terminate, and with an error wrapping
// ErrTerminated if Terminate is called meanwhile. WithProgress reports as
// chunks return. ctx must not be nil.
func Map[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], items []A, opts ...CallOption) ([]R, error) {
	f, j, err := startMap(ctx, p, fn, items, opts)
	if err != nil {
		return nil, err
	}
	if j != nil {
		j.feed()
	}
	return f.Result(ctx)
}

// MapAsync is Map that returns with the future of the results (Python's
// map_async). WithCallback (func([]R)) and WithErrorCallback set functions
// run before the result is ready. ctx is the items' (see Map) and bounds the
// call: if it ends first (or has ended already), chunks not started are
// cancelled, no more are scheduled, and the future fails with ctx's cause;
// cancelling the future cancels the chunks not started, too, schedules no
// more, and leaves running ones be (Python's meaning of cancel).
//
// MapAsync schedules the first window of chunks (see Map) and blocks only
// while the executor applies backpressure to them. If more chunks remain, it
// starts one goroutine that schedules them as the window frees up (it sleeps
// until half the window has returned) and ends once they are scheduled or
// the call has ended. If the executor refuses a chunk, the chunks already
// scheduled still run, no more are scheduled, and the future fails with the
// executor's error. It fails without a future with ErrClosed after Close or
// Terminate, if the chunk size or the read-ahead is < 1, or if WithCallback
// has the wrong type. ctx must not be nil.
func MapAsync[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], items []A, opts ...CallOption) (*future.Future[[]R], error) {
	f, j, err := startMap(ctx, p, fn, items, opts)
	if err != nil {
		return nil, err
	}
	if j != nil {
		go j.feed()
	}
	return f, nil
}

// defaultMapWindow is Map's default window, per worker. The feeder wakes
// once per half window, 8 chunks per worker, which makes its wakeups cheap
// next to the chunks even at chunk size 1; larger windows measured no
// faster there, and often slower (BenchmarkMapWindow). The default chunk
// size makes 4 chunks per worker: they all fit, and are all scheduled at
// once.
const defaultMapWindow = 16

// yieldAfter is how long the feeder must have waited for its half window
// for the worker that wakes it to yield to it (see giveBack).
const yieldAfter = 20 * time.Microsecond

// startMap makes the job of a Map or MapAsync, registers it and schedules
// the first window of chunks. If chunks remain to schedule, it returns the
// job, whose feed the caller must run (it holds the job open until then);
// otherwise it returns a nil job.
func startMap[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], items []A, opts []CallOption) (*future.Future[[]R], *mapJob[A, R], error) {
	if ctx == nil {
		panic("pool: nil Context")
	}
	cfg, err := newCallConfig(opts)
	if err != nil {
		return nil, nil, err
	}
	onOK, err := successCallback[[]R](&cfg)
	if err != nil {
		return nil, nil, err
	}
	n := len(items)
	cs := cfg.chunk
	if !cfg.chunkSet {
		cs = defaultMapChunk(n, p.Workers())
	}
	window := defaultMapWindow * p.Workers()
	if cfg.aheadSet {
		window = cfg.ahead
	}
	out, promise := future.New[[]R]()
	nchunks := n / cs
	if n%cs != 0 {
		nchunks++
	}
	window = min(window, nchunks)
	j := &mapJob[A, R]{
		p: p, ctx: ctx, prog: newProgress(p, &cfg, n), values: make([]R, n), stopFirst: cfg.cancelErr,
		fn: fn, items: items, cs: cs, task: cfg.task, nchunks: nchunks,
		slots:  make([]mapSlot[R], window),
		refill: max(1, window/2),
		taken:  -1,
	}
	j.res = result[[]R]{p: p, promise: promise, onOK: onOK, onErr: cfg.onError}
	j.freeTop.Store(-1)
	j.remaining.Store(int64(nchunks) + 1) // +1 held until every chunk is scheduled
	if window < nchunks {
		j.wake = make(chan struct{}, 1)
		j.t0 = time.Now()
	}
	// From here on, Terminate sees j: its fields are set.
	if err := p.add(j); err != nil {
		return nil, nil, err
	}
	if n == 0 {
		j.res.finish(j.values, nil)
		p.remove(j)
		return out, nil, nil
	}
	out.AddDoneCallback(j.resultDone)
	if ctx.Done() != nil {
		j.stopCtx = context.AfterFunc(ctx, func() { j.abort(context.Cause(ctx)) })
	}
	j.itemCtx = ctx
	if j.stopFirst {
		j.itemCtx, j.cancel = context.WithCancelCause(ctx)
	}
	if !j.fill() {
		j.release()
		return out, nil, nil
	}
	return out, j, nil
}

func defaultMapChunk(n, workers int) int {
	return max(1, (n+4*workers-1)/(4*workers))
}

// mapJob is the outstanding work of one Map or MapAsync. Chunks complete
// without taking its lock unless they failed: each writes its own part of
// values.
//
// At most len(slots) chunks are scheduled and not done: each occupies a
// slot from when it is scheduled until its completion callback (chunkDone)
// gives the slot back, on a lock-free stack that only the feeder (the one
// goroutine that schedules: Map's caller, or MapAsync's caller and then its
// goroutine) empties. The feeder sleeps on wake until refill slots are free,
// so that it is woken once per refill chunks, not per chunk.
type mapJob[A, R any] struct {
	p       *Pool
	ctx     context.Context // the call's, until the job is done
	itemCtx context.Context // the items': ctx, or derived from it with stopFirst
	res     result[[]R]
	prog    *progress
	values  []R
	stopCtx func() bool // set before any chunk is scheduled
	// WithCancelOnError: the first failure cancels the items' context.
	stopFirst bool
	cancel    context.CancelCauseFunc // the items' context; nil without stopFirst

	fn      executor.Func[A, R]
	items   []A
	cs      int // chunk size
	task    []executor.CallOption
	nchunks int
	refill  int // the feeder wakes when this many slots are free

	slots     []mapSlot[R]
	remaining atomic.Int64 // chunks not done, +1 while scheduling
	abandon   atomic.Bool

	// The slots given back by chunkDone: a stack linked by mapSlot.next,
	// pushed by chunkDone and taken whole by the feeder, so a push that
	// races with another push or with the take cannot go wrong (the stack is
	// never popped one by one: no ABA). freeN counts the slots given back
	// and not yet used by the feeder.
	freeTop atomic.Int32 // -1: empty
	freeN   atomic.Int64
	want    atomic.Int64  // > 0: the feeder sleeps until freeN reaches it
	wake    chan struct{} // buffered 1; nil if every chunk fits in the window
	t0      time.Time     // the origin of sleptAt
	sleptAt atomic.Int64  // when the feeder last went to sleep, since t0

	// Owned by the feeder.
	next  int   // the next chunk to schedule
	fresh int   // slots[fresh:] were never used
	taken int32 // slots taken from the stack and not used yet, linked by next; -1: none

	mu    sync.Mutex
	first *ItemError // failure with the lowest index; with stopFirst, the first to happen
}

// mapSlot holds one chunk in flight.
type mapSlot[R any] struct {
	ex    slotExecutor                                     // schedules the slot's chunks
	f     atomic.Pointer[future.Future[executor.Chunk[R]]] // for cancelWork; stays after it is done
	lo, n int                                              // the chunk's items: set by the feeder before scheduling it
	next  int32                                            // the next free slot, while it is free
	done  func(*future.Future[executor.Chunk[R]])          // calls chunkDone; made on first use
}

// fill schedules chunks into the free slots. It reports whether chunks
// remain to schedule; when it reports false, it has stopped counting the
// chunks that will not be scheduled (an error, or the job was abandoned).
func (j *mapJob[A, R]) fill() bool {
	for j.next < j.nchunks {
		s := j.take()
		if s < 0 {
			return true
		}
		if !j.schedule(s) {
			return false
		}
	}
	return false
}

// take returns a free slot, or -1.
func (j *mapJob[A, R]) take() int32 {
	if j.fresh < len(j.slots) {
		s := int32(j.fresh)
		j.fresh++
		sl := &j.slots[s]
		sl.ex.Executor, sl.ex.abandon = j.p.ex, &j.abandon
		sl.done = func(f *future.Future[executor.Chunk[R]]) { j.chunkDone(sl, s, f) }
		return s
	}
	if j.taken < 0 {
		j.taken = j.freeTop.Swap(-1)
		if j.taken < 0 {
			return -1
		}
	}
	s := j.taken
	j.taken = j.slots[s].next // before the slot is used again
	j.freeN.Add(-1)
	return s
}

// schedule schedules chunk j.next into slot s and reports whether the
// feeder goes on.
func (j *mapJob[A, R]) schedule(s int32) bool {
	k := j.next
	if j.abandon.Load() {
		j.remaining.Add(int64(k - j.nchunks)) // the chunks that will not run
		return false
	}
	n := len(j.items)
	lo := k * j.cs
	hi := lo + min(j.cs, n-lo)
	sl := &j.slots[s]
	sl.lo, sl.n = lo, hi-lo
	f, err := executor.CallChunkInto(j.itemCtx, &sl.ex, j.fn, j.items[lo:hi:hi], j.values[lo:hi:hi], j.task...)
	if err != nil {
		switch {
		case j.ctx.Err() != nil: // ended, maybe before the call: its cause
			j.abort(context.Cause(j.ctx))
		case j.itemCtx.Err() != nil: // an item failed: WithCancelOnError
		default:
			j.fail(lo, fmt.Errorf("pool: scheduling items %d to %d: %w", lo, hi-1, err))
		}
		j.remaining.Add(int64(k - j.nchunks))
		return false
	}
	j.next++
	sl.f.Store(f)
	if j.abandon.Load() {
		f.Cancel() // aborted: schedule no more
		j.remaining.Add(int64(k + 1 - j.nchunks))
		f.AddDoneCallback(sl.done)
		return false
	}
	f.AddDoneCallback(sl.done)
	return true
}

// feed schedules the chunks left as slots come free, then lets the job
// finish. It runs in Map's caller or in MapAsync's goroutine, and ends once
// every chunk is scheduled or the job is abandoned.
func (j *mapJob[A, R]) feed() {
	for {
		need := int64(min(j.refill, j.nchunks-j.next))
		j.sleptAt.Store(int64(time.Since(j.t0)))
		j.want.Store(need)
		// Either this load sees the slot a chunkDone gives back, or that
		// chunkDone sees want and wakes the feeder.
		if j.freeN.Load() < need && !j.abandon.Load() {
			<-j.wake
		}
		j.want.Store(0)
		if !j.fill() {
			break
		}
	}
	j.release()
}

// giveBack returns slot s to the feeder, and wakes it if it waits for it.
func (j *mapJob[A, R]) giveBack(s int32) {
	for {
		top := j.freeTop.Load()
		j.slots[s].next = top
		if j.freeTop.CompareAndSwap(top, s) {
			break
		}
	}
	free := j.freeN.Add(1)
	if w := j.want.Load(); w > 0 && free >= w && j.want.CompareAndSwap(w, 0) {
		j.signal()
		// The feeder is ready but, while every P runs a worker, it would
		// run only once the queue is empty and the workers have gone to
		// sleep, to be woken one by one. When the half window took long
		// to return, that costs far more than letting the feeder have this
		// P now, while the other workers still have chunks queued. When it
		// returned quickly (short chunks), the queue soon runs dry anyway,
		// the feeder follows on the same P at little cost, and a yield
		// would only add to it.
		if time.Since(j.t0)-time.Duration(j.sleptAt.Load()) >= yieldAfter {
			runtime.Gosched()
		}
	}
}

// signal wakes the feeder if it sleeps (or makes its next sleep return).
func (j *mapJob[A, R]) signal() {
	if j.wake != nil {
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
}

func (j *mapJob[A, R]) fail(index int, err error) {
	j.mu.Lock()
	if j.stopFirst {
		// Once the result is decided (the caller cancelled it, ctx ended,
		// Terminate), a failure neither counts nor cancels running items.
		if j.first != nil || j.res.claimed.Load() {
			j.mu.Unlock()
			return
		}
		j.first = &ItemError{Index: index, Err: err}
		j.mu.Unlock()
		// The rest: chunks not started are cancelled, then the running
		// items' context, with the first error as its cause.
		j.cancelWork()
		j.cancel(j.first)
		return
	}
	if j.first == nil || index < j.first.Index {
		j.first = &ItemError{Index: index, Err: err}
	}
	j.mu.Unlock()
}

// chunkDone runs in the goroutine that completed the chunk in slot s.
func (j *mapJob[A, R]) chunkDone(sl *mapSlot[R], s int32, f *future.Future[executor.Chunk[R]]) {
	base, size := sl.lo, sl.n                // before the slot is given back
	c, err := f.Result(context.Background()) // done: does not block
	if err != nil {
		j.fail(base, err)
	} else {
		// CallChunkInto wrote c.Values into j.values in place.
		for i, e := range c.Errs {
			if e != nil {
				j.fail(base+i, e)
				break
			}
		}
	}
	if !f.Cancelled() {
		j.prog.add(size)
	}
	j.giveBack(s)
	j.release()
}

// release counts one chunk (or the feeder) done and finishes the job after
// the last.
func (j *mapJob[A, R]) release() {
	if j.remaining.Add(-1) != 0 {
		return
	}
	j.mu.Lock()
	first := j.first
	j.mu.Unlock()
	switch {
	case first != nil && j.ctx.Err() != nil:
		// Failed after ctx ended (the executor removes the chunks not
		// started at once, so this can win the race with abort): the call
		// failed because ctx ended.
		j.res.finish(nil, context.Cause(j.ctx))
	case first != nil:
		j.res.finish(nil, first)
	default:
		j.res.finish(j.values, nil)
	}
	if j.stopCtx != nil {
		j.stopCtx()
	}
	if j.cancel != nil {
		j.cancel(nil) // no item runs any more: lets the context go
	}
	j.p.remove(j)
}

// cancelWork cancels every chunk that has not started and stops the
// feeder. Once it has returned, no chunk of the job starts: a chunk that
// the feeder is handing to the executor meanwhile is cancelled here, or by
// its slotExecutor if it sees abandon first.
func (j *mapJob[A, R]) cancelWork() {
	j.abandon.Store(true)
	for i := range j.slots {
		sl := &j.slots[i]
		if t := sl.ex.last(); t != nil {
			t.Cancel()
		}
		if f := sl.f.Load(); f != nil {
			f.Cancel() // the same future, unless a KeyLimit holds the task back
		}
	}
	j.signal()
}

// slotExecutor is the executor a slot's chunks are scheduled on: it keeps
// each chunk's task before the executor can start it, so that cancelWork,
// which cancels it, cannot miss a chunk being scheduled. It is how
// cancelling the future or Terminate, which cancel no context, stop a chunk
// on its way. A retry or a KeyLimit schedules the chunk's task again through
// it. Its Hooks are the executor's, if it has any, for the retries.
type slotExecutor struct {
	executor.Executor
	abandon *atomic.Bool // the job's
	mu      sync.Mutex   // guards task
	task    driver.Task
}

func (x *slotExecutor) Schedule(ctx context.Context, t driver.Task) error {
	x.mu.Lock()
	x.task = t
	x.mu.Unlock()
	// Either cancelWork sees t, or this load sees abandon.
	if x.abandon.Load() {
		t.Cancel() // it will not start; the executor skips it
	}
	return x.Executor.Schedule(ctx, t)
}

// last returns the task scheduled last, or nil.
func (x *slotExecutor) last() driver.Task {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.task
}

// Hooks returns the executor's hooks, if it has any (see GoPool.Hooks).
func (x *slotExecutor) Hooks() *executor.Hooks {
	if h, ok := x.Executor.(interface{ Hooks() *executor.Hooks }); ok {
		return h.Hooks()
	}
	return nil
}

// abort cancels the chunks not started and fails the result with err, in
// this order: once the caller sees the error, no more chunks will start.
func (j *mapJob[A, R]) abort(err error) {
	claimed := j.res.claimed.CompareAndSwap(false, true)
	j.cancelWork()
	if claimed {
		j.res.complete(nil, err)
	}
}

func (j *mapJob[A, R]) terminate(err error) { j.abort(err) }

// resultDone propagates a cancellation of the caller's future to the chunks.
func (j *mapJob[A, R]) resultDone(f *future.Future[[]R]) {
	if f.Cancelled() {
		j.res.claimed.Store(true)
		j.cancelWork()
	}
}
