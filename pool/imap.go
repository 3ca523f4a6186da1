package pool

import (
	"context"
	"iter"

	"github.com/gofutures/gofutures/executor"
)

// Imap applies fn to the items of in, lazily, and returns an iterator over
// the results in input order (Python's imap). Nothing happens until the loop
// starts. The input is read in the loop's goroutine, at most WithChunksInFlight
// chunks ahead of the results delivered (default 2 × workers, at least 8), so
// an endless or huge input runs in bounded memory; chunks have WithChunkSize
// items (default 1), each scheduled as one task.
//
// Each item yields one (result, error) pair: a failed item yields an
// *ItemError at its position and the loop goes on (with WithCancelOnError,
// the first failure cancels the rest and is the loop's last value). A
// condition that ends the whole call yields one last error and ends the
// loop: ctx ending (its cause), Terminate (ErrTerminated), the pool closed
// before the loop started (ErrClosed), the executor refusing work (after the
// results it accepted), or an invalid option.
//
// The items run with a context derived from ctx (see executor.Submit), which
// the loop's end cancels: breaking out of the loop (or any end of it) stops
// reading the input, cancels the chunks not started (they never run) and
// the context of the items running, and returns at once; the results of
// running items are dropped. An input that blocks delays the delivery of
// results that are ready, and ctx does not interrupt it. WithProgress reports
// as results are delivered. ctx must not be nil. Each loop costs one derived
// context (context.WithCancelCause).
func Imap[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in iter.Seq[A], opts ...CallOption) iter.Seq2[R, error] {
	return imap(ctx, p, fn, in, nil, true, opts)
}

// ImapFallible is Imap over an input that can fail (an iter.Seq2 of items
// and errors, as a scanner or a database cursor gives): an error from in is
// delivered as an *ItemError with Input set at its position (in order),
// and the loop goes on reading in. To end the input after an error, in
// returns.
func ImapFallible[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in iter.Seq2[A, error], opts ...CallOption) iter.Seq2[R, error] {
	return imap(ctx, p, fn, nil, in, true, opts)
}

// ImapUnordered is Imap with results in completion order (Python's
// imap_unordered): a chunk's results are delivered together, in input order,
// as soon as the chunk returns. Everything else is as for Imap.
func ImapUnordered[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in iter.Seq[A], opts ...CallOption) iter.Seq2[R, error] {
	return imap(ctx, p, fn, in, nil, false, opts)
}

// ImapUnorderedFallible is ImapUnordered over an input that can fail, as
// ImapFallible: an input error is delivered as soon as it is read.
func ImapUnorderedFallible[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in iter.Seq2[A, error], opts ...CallOption) iter.Seq2[R, error] {
	return imap(ctx, p, fn, nil, in, false, opts)
}

// ImapUnorderedIndex is ImapUnordered that yields, with each result, the
// index of its input item (from 0, in the order in yields them), so that a result
// and an error can be matched to their input without a map: with in =
// slices.Values(urls), r.Index is the index in urls. A failed item yields
// its *ItemError, with the same index, and r.Value is what the function
// returned with its error. An error that ends the loop (see Imap) comes
// with Index -1. Everything else is as for ImapUnordered.
//
//	for r, err := range pool.ImapUnorderedIndex(ctx, p, fetch, slices.Values(urls)) {
//		fmt.Println(urls[r.Index], r.Value, err)
//	}
func ImapUnorderedIndex[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in iter.Seq[A], opts ...CallOption) iter.Seq2[Indexed[R], error] {
	if ctx == nil {
		panic("pool: nil Context")
	}
	return func(yield func(Indexed[R], error) bool) {
		imapRun(ctx, p, fn, in, nil, false, opts, nil, yield)
	}
}

// Indexed is a result of ImapUnorderedIndex with the index of its input.
type Indexed[R any] struct {
	// Index is the input item's position, from 0; -1 with an error that
	// ends the loop.
	Index int
	// Value is the function's result.
	Value R
}

func imap[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in1 iter.Seq[A], in2 iter.Seq2[A, error], ordered bool, opts []CallOption) iter.Seq2[R, error] {
	if ctx == nil {
		panic("pool: nil Context")
	}
	return func(yield func(R, error) bool) {
		imapRun(ctx, p, fn, in1, in2, ordered, opts, yield, nil)
	}
}

// imapRun runs one loop of the Imap family; exactly one of yield and
// yieldIdx is set.
func imapRun[A, R any](ctx context.Context, p *Pool, fn executor.Func[A, R], in1 iter.Seq[A], in2 iter.Seq2[A, error], ordered bool, opts []CallOption, yield func(R, error) bool, yieldIdx func(Indexed[R], error) bool) {
	{
		cfg, err := newCallConfig(opts)
		if err != nil {
			var zero R
			if yieldIdx != nil {
				yieldIdx(Indexed[R]{Index: -1, Value: zero}, err)
			} else {
				yield(zero, err)
			}
			return
		}
		// Cancelled when the loop has ended, after the chunks not started
		// (stream.finish): the running items see it.
		itemCtx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		s := &stream[A, R]{
			p:         p,
			ctx:       itemCtx,
			cancel:    cancel,
			done:      itemCtx.Done(),
			fn:        fn,
			cs:        1,
			ahead:     max(8, 2*p.Workers()),
			ordered:   ordered,
			stopFirst: cfg.cancelErr,
			prog:      newProgress(p, &cfg, -1),
			yield:     yield,
			yieldIdx:  yieldIdx,
			task:      cfg.task,
		}
		if cfg.chunkSet {
			s.cs = cfg.chunk
		}
		if cfg.aheadSet {
			s.ahead = cfg.ahead
		}
		if !ordered {
			s.signal = make(chan struct{}, 1)
		}
		s.run(in1, in2)
	}
}
