package pool

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// Map applies fn to every item on the pool and returns the results in input
// order (Python's map). It has no fail-fast: it waits until every chunk has
// returned, then returns the results, or nil and the error of the first
// failed item in input order (an *ItemError wrapping the cause). Empty input
// returns an empty slice at once.
//
// Items are split into chunks (WithChunkSize; default ceil(len(items) /
// (4 × workers))), each scheduled as one task. items is not copied: do not
// change it until Map returns. The items run with a context derived from ctx
// (see executor.Submit): they see its values, its deadline and its end. Map
// blocks until the results are ready or ctx ends; when ctx ends first, chunks
// not started are cancelled (they never run), running items see ctx.Done(),
// and Map returns ctx's cause at once. With WithCancelOnError, the first item
// to fail cancels the rest, and Map returns its error once every chunk has
// returned. It fails with ErrClosed after Close or Terminate, and with an
// error wrapping ErrTerminated if Terminate is called meanwhile. WithProgress
// reports as chunks return. ctx must not be nil.
func Map[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], items []A, opts ...CallOption) ([]R, error) {
	f, err := MapAsync(ctx, p, fn, items, opts...)
	if err != nil {
		return nil, err
	}
	return f.Result(ctx)
}

// MapAsync is Map that returns at once with the future of the results
// (Python's map_async). WithCallback (func([]R)) and WithErrorCallback set
// functions run before the result is ready. ctx is the items' (see Map) and
// bounds the call: if it ends first (or has ended already), chunks not
// started are cancelled and the future fails with ctx's cause; cancelling the
// future cancels the chunks not started, too, and leaves running ones be
// (Python's meaning of cancel).
//
// MapAsync blocks only while the executor applies backpressure, until every
// chunk is scheduled. If the executor refuses a chunk, the chunks already
// scheduled still run and the future fails with the executor's error. It
// fails without a future with ErrClosed after Close or Terminate, if the chunk
// size is < 1, or if WithCallback has the wrong type. ctx must not be nil.
func MapAsync[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], items []A, opts ...CallOption) (*future.Future[[]R], error) {
	if ctx == nil {
		panic("pool: nil Context")
	}
	cfg, err := newCallConfig(opts)
	if err != nil {
		return nil, err
	}
	onOK, err := successCallback[[]R](&cfg)
	if err != nil {
		return nil, err
	}
	n := len(items)
	cs := cfg.chunk
	if !cfg.chunkSet {
		cs = defaultMapChunk(n, p.Workers())
	}
	out, promise := future.New[[]R]()
	j := &mapJob[R]{p: p, ctx: ctx, prog: newProgress(p, &cfg, n), values: make([]R, n), stopFirst: cfg.cancelErr}
	j.res = result[[]R]{p: p, promise: promise, onOK: onOK, onErr: cfg.onError}
	nchunks := n / cs
	if n%cs != 0 {
		nchunks++
	}
	j.chunks = make([]atomic.Pointer[future.Future[executor.Chunk[R]]], nchunks)
	j.remaining.Store(int64(nchunks) + 1) // +1 held until every chunk is scheduled
	// From here on, Terminate sees j: its fields are set.
	if err := p.add(j); err != nil {
		return nil, err
	}
	if n == 0 {
		j.res.finish(j.values, nil)
		p.remove(j)
		return out, nil
	}
	out.AddDoneCallback(j.resultDone)
	if ctx.Done() != nil {
		j.stopCtx = context.AfterFunc(ctx, func() { j.abort(context.Cause(ctx)) })
	}
	itemCtx := ctx
	if j.stopFirst {
		itemCtx, j.cancel = context.WithCancelCause(ctx)
	}
	for k := range nchunks {
		lo := k * cs
		hi := lo + min(cs, n-lo)
		f, err := executor.CallChunkInto(itemCtx, p.ex, fn, items[lo:hi:hi], j.values[lo:hi:hi], cfg.task...)
		if err != nil {
			switch {
			case ctx.Err() != nil: // ended, maybe before the call: its cause
				j.abort(context.Cause(ctx))
			case itemCtx.Err() != nil: // an item failed: WithCancelOnError
			default:
				j.fail(lo, fmt.Errorf("pool: scheduling items %d to %d: %w", lo, hi-1, err))
			}
			j.remaining.Add(int64(k - nchunks)) // the chunks that will not run
			break
		}
		j.chunks[k].Store(f)
		if j.abandon.Load() {
			f.Cancel() // aborted: schedule no more
			j.remaining.Add(int64(k + 1 - nchunks))
			f.AddDoneCallback(func(f *future.Future[executor.Chunk[R]]) { j.chunkDone(lo, hi-lo, f) })
			break
		}
		f.AddDoneCallback(func(f *future.Future[executor.Chunk[R]]) { j.chunkDone(lo, hi-lo, f) })
	}
	j.release()
	return out, nil
}

func defaultMapChunk(n, workers int) int {
	return max(1, (n+4*workers-1)/(4*workers))
}

// mapJob is the outstanding work of one MapAsync. Chunks complete without
// taking its lock unless they failed: each writes its own part of values.
type mapJob[R any] struct {
	p       *Pool
	ctx     context.Context // the call's, until the job is done
	res     result[[]R]
	prog    *progress
	values  []R
	stopCtx func() bool // set before any chunk is scheduled
	// WithCancelOnError: the first failure cancels the items' context.
	stopFirst bool
	cancel    context.CancelCauseFunc // the items' context; nil without stopFirst

	chunks    []atomic.Pointer[future.Future[executor.Chunk[R]]]
	remaining atomic.Int64 // chunks not done, +1 while scheduling
	abandon   atomic.Bool

	mu    sync.Mutex
	first *ItemError // failure with the lowest index; with stopFirst, the first to happen
}

func (j *mapJob[R]) fail(index int, err error) {
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

// chunkDone runs in the goroutine that completed the chunk of size items
// starting at base.
func (j *mapJob[R]) chunkDone(base, size int, f *future.Future[executor.Chunk[R]]) {
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
	j.release()
}

// release counts one chunk (or the scheduling loop) done and finishes the
// job after the last.
func (j *mapJob[R]) release() {
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

// cancelWork cancels every chunk that has not started.
func (j *mapJob[R]) cancelWork() {
	j.abandon.Store(true)
	for i := range j.chunks {
		if f := j.chunks[i].Load(); f != nil {
			f.Cancel()
		}
	}
}

// abort cancels the chunks not started and fails the result with err, in
// this order: once the caller sees the error, no more chunks will start.
func (j *mapJob[R]) abort(err error) {
	claimed := j.res.claimed.CompareAndSwap(false, true)
	j.cancelWork()
	if claimed {
		j.res.complete(nil, err)
	}
}

func (j *mapJob[R]) terminate(err error) { j.abort(err) }

// resultDone propagates a cancellation of the caller's future to the chunks.
func (j *mapJob[R]) resultDone(f *future.Future[[]R]) {
	if f.Cancelled() {
		j.res.claimed.Store(true)
		j.cancelWork()
	}
}
