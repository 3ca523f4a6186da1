package process_test

import (
	"context"
	"encoding/gob"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

// Calls queued together to one function go to the helper as one frame (a
// batch), each still a call of its own. These tests queue a batch for
// certain: the calls wait in the queue while the pool's only helper is held
// at its start gate, and go in one write once it is let go.

const batchSize = 11

// unencodable fails to gob-encode, in the host.
type unencodable struct{}

func (unencodable) GobEncode() ([]byte, error) { return nil, errors.New("unencodable on purpose") }

// queueBatch starts a pool of one helper that keeps batchSize calls in
// flight, calls effectFn on effects 1..batchSize (edit changes each before
// it is sent) with ctx, and lets the helper go once all are queued. It
// checks that sent of them were written to the helper at once (the others
// failed to encode), and returns the
// pool, the gate (a helper that replaces this one stops there too) and the
// futures.
func queueBatch(t *testing.T, ctx context.Context, sent int, edit func(*effect)) (*process.Executor, startGate, []*future.Future[int]) {
	t.Helper()
	return queueBatchAfter(t, ctx, sent, edit, nil, nil)
}

// queueBatchAfter is queueBatch that queues the calls before makes ahead
// of the batch (sent counts them too), and gives the pool to hook first.
func queueBatchAfter(t *testing.T, ctx context.Context, sent int, edit func(*effect), hook, before func(*process.Executor), opts ...process.Option) (*process.Executor, startGate, []*future.Future[int]) {
	t.Helper()
	g, gate := newStartGate(t)
	p := newPool(t, append(append(gate, process.WithWorkers(1)), opts...)...)
	var mu sync.Mutex
	var writes []int
	process.SendAhead(p, batchSize+1, func(n int) {
		mu.Lock()
		writes = append(writes, n)
		mu.Unlock()
	})
	if hook != nil {
		hook(p)
	}
	if before != nil {
		before(p)
	}
	log := newLog(t)
	var fs []*future.Future[int]
	for id := 1; id <= batchSize; id++ {
		e := effect{Log: log, ID: id}
		edit(&e)
		f, err := executor.Call(ctx, p, effectFn, e)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	g.next(ctx, t)
	release(t, g.gate)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(writes) == 0 || writes[0] != sent {
			t.Errorf("calls per write %v: the test meant %d in the first", writes, sent)
		}
	})
	return p, g, fs
}

// Every call of a batch runs once, and the results come back in order.
func TestBatchRunsEachOnce(t *testing.T) { allRunOnce(t, ctxT(t)) }

// allRunOnce queues a batch of calls on ctx and checks that each returns
// its result and ran once.
func allRunOnce(t *testing.T, ctx context.Context) {
	var log string
	_, _, fs := queueBatch(t, ctx, batchSize, func(e *effect) { log = e.Log })
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != i+1 {
			t.Fatalf("call %d: %v, %v", i+1, v, err)
		}
	}
	checkOnce(t, log, upTo(batchSize + 1)[1:]...)
}

// A batch whose arguments the helper cannot decode (one concrete type in
// an interface that only the host registered) runs none of its calls; they
// are sent again one by one, and only the bad one fails, with ErrEncode.
// The others run once, on the same helper.
func TestBatchArgumentDecodeFails(t *testing.T) {
	gob.Register(hostOnly{}) // in this process only: helpers do not run tests
	testOneBadInBatch(t, hostOnly{7}, batchSize)
}

// A batch whose arguments the host cannot encode (one value's GobEncode
// fails) is sent one call per frame: only the bad call fails, with
// ErrEncode, and the others run once.
func TestBatchArgumentEncodeFails(t *testing.T) {
	gob.Register(unencodable{})
	testOneBadInBatch(t, unencodable{}, batchSize-1)
}

// testOneBadInBatch queues a batch whose fifth call carries bad, of which
// sent calls reach the helper in the first write, and checks that only the
// bad call fails, with ErrEncode, that the others ran once, and that the
// helper lives on.
func testOneBadInBatch(t *testing.T, bad any, sent int) {
	ctx := ctxT(t)
	const badID = 5
	var log string
	p, _, fs := queueBatch(t, ctx, sent, func(e *effect) {
		log = e.Log
		if e.ID == badID {
			e.Extra = bad
		}
	})
	for i, f := range fs {
		v, err := f.Result(ctx)
		if i+1 == badID {
			if !errors.Is(err, process.ErrEncode) {
				t.Fatalf("bad call: %v, %v; want ErrEncode", v, err)
			}
			continue
		}
		if err != nil || v != i+1 {
			t.Fatalf("call %d: %v, %v", i+1, v, err)
		}
	}
	ran := executions(t, log)
	for id := 1; id <= batchSize; id++ {
		if want := map[bool]int{true: 0, false: 1}[id == badID]; ran[id] != want {
			t.Errorf("task %d ran %d times, want %d", id, ran[id], want)
		}
	}
	if pids := p.Pids(); len(pids) != 1 {
		t.Fatalf("helpers %v: the one helper must live on", pids)
	}
}

// A helper that dies in the middle of a batch: the calls before it
// finished and keep their results, the crasher fails with a
// *WorkerError, and the calls after it run once, on the next helper.
func TestBatchCrashInTheMiddle(t *testing.T) {
	diesInTheMiddle(t, func(e *effect) { e.Crash = true }, func(err error) bool {
		var we *process.WorkerError
		return errors.As(err, &we) && errors.Is(err, executor.ErrWorkerDied)
	})
}

// A call in the middle of a batch that overruns the task timeout fails
// with a *TimeoutError; the calls before it keep their results, and the
// calls after it run once, on the next helper.
func TestBatchHangInTheMiddle(t *testing.T) {
	diesInTheMiddle(t, func(e *effect) { e.Hang = true }, func(err error) bool {
		var te *process.TimeoutError
		return errors.As(err, &te) && errors.Is(err, context.DeadlineExceeded)
	}, process.WithTaskTimeout(time.Second))
}

// diesInTheMiddle queues a batch whose fifth call kill makes its helper
// die, and checks that only that call fails (as want says), and that
// every call ran once.
func diesInTheMiddle(t *testing.T, kill func(*effect), want func(error) bool, opts ...process.Option) {
	ctx := ctxT(t)
	const badID = 5
	var log string
	_, g, fs := queueBatchAfter(t, ctx, batchSize, func(e *effect) {
		log = e.Log
		if e.ID == badID {
			kill(e)
		}
	}, nil, nil, opts...)
	for i, f := range fs[:badID] {
		v, err := f.Result(ctx)
		if i+1 == badID {
			if !want(err) {
				t.Fatalf("the call that killed its helper: %v, %v", v, err)
			}
			break
		}
		if err != nil || v != i+1 {
			t.Fatalf("call %d: %v, %v", i+1, v, err)
		}
	}
	g.next(ctx, t) // its replacement
	release(t, g.gate)
	for i, f := range fs[badID:] {
		if v, err := f.Result(ctx); err != nil || v != badID+i+1 {
			t.Fatalf("call %d: %v, %v", badID+i+1, v, err)
		}
	}
	checkOnce(t, log, upTo(batchSize + 1)[1:]...)
}

// The ctx of a batch's calls ends while a call before it runs: none of them
// runs, and each fails with the ctx's cause.
func TestBatchCancelled(t *testing.T) {
	parent := ctxT(t)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	started := mkfifo(t)
	bctx, unblock := context.WithCancel(parent)
	defer unblock()
	cancels := make(chan int, 64)
	var blocker *future.Future[int]
	var log string
	_, _, fs := queueBatchAfter(t, ctx, batchSize+1, func(e *effect) { log = e.Log }, func(p *process.Executor) {
		process.OnCancelsSent(p, func(n int) { cancels <- n })
	}, func(p *process.Executor) {
		var err error
		// Ahead of the batch, a call that runs until its own ctx ends.
		if blocker, err = executor.Call(bctx, p, waitCtxFn, waitCtx{Log: newLog(t), Started: started}); err != nil {
			t.Fatal(err)
		}
	})
	readStarted(parent, t, started)
	cancel()
	for n := 0; n < batchSize; { // the batch's cancel frames, all sent
		select {
		case k := <-cancels:
			n += k
		case <-parent.Done():
			t.Fatal("the cancels were never sent")
		}
	}
	// The helper reads frames in order: when the blocker's cancel ends
	// it, the helper knows of the batch's.
	unblock()
	if _, err := blocker.Result(parent); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocker: %v", err)
	}
	for i, f := range fs {
		if _, err := f.Result(parent); !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d: %v, want context.Canceled", i+1, err)
		}
	}
	if ran := executions(t, log); len(ran) != 0 {
		t.Errorf("calls ran after their ctx ended: %v", ran)
	}
}

// uncomparableCtx is a Context that == cannot compare (it panics).
type uncomparableCtx struct {
	context.Context
	_ []int
}

// Calls on a ctx that == cannot compare still run, each once (in frames of
// their own: the ctx cannot be told to be the same).
func TestBatchUncomparableCtx(t *testing.T) {
	parent, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	allRunOnce(t, uncomparableCtx{Context: parent})
}
