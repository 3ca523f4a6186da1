package future

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"
	"weak"
)

func pending(n int) ([]*Future[int], []Promise[int]) {
	fs := make([]*Future[int], n)
	ps := make([]Promise[int], n)
	for i := range fs {
		fs[i], ps[i] = New[int]()
	}
	return fs, ps
}

// waitAsync runs Wait in a goroutine and returns a channel with its result.
type waitResult struct {
	done, notDone []*Future[int]
	err           error
}

func waitAsync(ctx context.Context, fs []*Future[int], mode WaitMode) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		d, nd, err := Wait(ctx, fs, mode)
		ch <- waitResult{d, nd, err}
	}()
	return ch
}

func TestWaitEmpty(t *testing.T) {
	for _, mode := range []WaitMode{AllCompleted, FirstCompleted, FirstError} {
		d, nd, err := Wait(context.Background(), []*Future[int]{}, mode)
		if len(d) != 0 || len(nd) != 0 || err != nil {
			t.Fatalf("%v: %v %v %v", mode, d, nd, err)
		}
	}
}

func TestWaitFirstCompleted(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(3)
	ch := waitAsync(ctx, fs, FirstCompleted)
	ps[1].SetResult(1)
	r := <-ch
	if r.err != nil || len(r.done) != 1 || r.done[0] != fs[1] || len(r.notDone) != 2 {
		t.Fatalf("%+v", r)
	}
	// Already done counts: returns at once.
	d, _, _ := Wait(ctx, fs, FirstCompleted)
	if len(d) != 1 {
		t.Fatal(d)
	}
}

func TestWaitFirstError(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(3)
	ch := waitAsync(ctx, fs, FirstError)
	ps[0].SetResult(1) // success: keep waiting
	fs[2].Cancel()     // cancellation does not count as an error
	select {
	case r := <-ch:
		t.Fatalf("returned early: %+v", r)
	case <-time.After(20 * time.Millisecond): // a bounded check that it is still waiting
	}
	ps[1].SetError(errBoom)
	r := <-ch
	if r.err != nil || len(r.done) != 3 || len(r.notDone) != 0 {
		t.Fatalf("%+v", r)
	}
	// Without any error it returns when all are done.
	fs2, ps2 := pending(2)
	ch2 := waitAsync(ctx, fs2, FirstError)
	ps2[0].SetResult(1)
	ps2[1].SetResult(2)
	if r := <-ch2; len(r.done) != 2 {
		t.Fatalf("%+v", r)
	}
	// The error arrives first, others still pending.
	fs3, ps3 := pending(3)
	ch3 := waitAsync(ctx, fs3, FirstError)
	ps3[2].SetError(errBoom)
	if r := <-ch3; len(r.done) != 1 || r.done[0] != fs3[2] || len(r.notDone) != 2 {
		t.Fatalf("%+v", r)
	}
}

func TestWaitAllCompletedAndDuplicates(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(2)
	dup := []*Future[int]{fs[0], fs[1], fs[0], fs[1]}
	ch := waitAsync(ctx, dup, AllCompleted)
	ps[1].SetResult(1)
	ps[0].SetError(errBoom)
	r := <-ch
	if len(r.done) != 2 || r.done[0] != fs[0] || r.done[1] != fs[1] || len(r.notDone) != 0 || r.err != nil {
		t.Fatalf("%+v", r)
	}
	for _, f := range fs {
		if f.nWaiters() != 0 {
			t.Fatal("waiter left on a future")
		}
	}
}

func TestWaitTimeoutReturnsPartition(t *testing.T) {
	fs, ps := pending(3)
	ps[0].SetResult(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	d, nd, err := Wait(ctx, fs, AllCompleted)
	if !errors.Is(err, context.DeadlineExceeded) || len(d) != 1 || len(nd) != 2 {
		t.Fatalf("%v %v %v", d, nd, err)
	}
	for _, f := range fs[1:] {
		if f.State() != Pending || f.nWaiters() != 0 {
			t.Fatal("Wait changed a future or left a waiter")
		}
	}
}

func TestWaitMixedTypes(t *testing.T) {
	a, pa := New[int]()
	b, pb := New[string]()
	go func() {
		pa.SetResult(1)
		pb.SetResult("b")
	}()
	d, nd, err := Wait(context.Background(), []Awaitable{a, b}, AllCompleted)
	if len(d) != 2 || len(nd) != 0 || err != nil {
		t.Fatal(d, nd, err)
	}
}

func TestAsCompletedOrder(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(4)
	ps[3].SetResult(3) // already done: first
	ps[1].SetResult(1)
	next := make(chan *Future[int])
	go func() {
		defer close(next)
		for f, err := range AsCompleted(ctx, append(fs, fs[0])) { // duplicate collapses
			if err != nil {
				t.Error(err)
				return
			}
			next <- f
		}
	}()
	// Already-done ones first, in input order.
	if f := <-next; f != fs[1] {
		t.Fatal("want fs[1] first")
	}
	if f := <-next; f != fs[3] {
		t.Fatal("want fs[3] second")
	}
	// Then completion order.
	ps[2].SetResult(2)
	if f := <-next; f != fs[2] {
		t.Fatal("want fs[2]")
	}
	fs[0].Cancel() // cancelled futures are yielded too
	if f := <-next; f != fs[0] {
		t.Fatal("want fs[0]")
	}
	if _, ok := <-next; ok {
		t.Fatal("a future was yielded twice")
	}
}

func TestAsCompletedTimeout(t *testing.T) {
	fs, ps := pending(4)
	ps[0].SetResult(0)
	ps[1].SetResult(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	var got int
	var last error
	for f, err := range AsCompleted(ctx, fs) {
		if err != nil {
			last = err
			continue
		}
		got++
		_ = f
	}
	var ue *UnfinishedError
	if got != 2 || !errors.As(last, &ue) || ue.Unfinished != 2 || ue.Total != 4 || !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("got %d, err %v", got, last)
	}
	if want := "future: 2 (of 4) futures unfinished: context deadline exceeded"; last.Error() != want {
		t.Fatalf("message %q", last.Error())
	}
	for _, f := range fs {
		if f.nWaiters() != 0 {
			t.Fatal("waiter left behind")
		}
	}
}

func TestAsCompletedBreakUnsubscribes(t *testing.T) {
	fs, ps := pending(3)
	ps[0].SetResult(0)
	for range AsCompleted(context.Background(), fs) {
		break
	}
	for _, f := range fs {
		if f.nWaiters() != 0 {
			t.Fatal("waiter left behind after break")
		}
	}
}

func TestAsCompletedConcurrent(t *testing.T) {
	fs, ps := pending(1000)
	go func() {
		for i := len(ps) - 1; i >= 0; i-- {
			ps[i].SetResult(i)
		}
	}()
	seen := make(map[*Future[int]]bool)
	for f, err := range AsCompleted(context.Background(), fs) {
		if err != nil || seen[f] {
			t.Fatal("error or duplicate", err)
		}
		seen[f] = true
	}
	if len(seen) != len(fs) {
		t.Fatal(len(seen))
	}
}

func TestWaitModeString(t *testing.T) {
	if FirstError.String() != "FIRST_EXCEPTION" || FirstCompleted.String() != "FIRST_COMPLETED" || AllCompleted.String() != "ALL_COMPLETED" {
		t.Fatal()
	}
}

// collected reports whether w's object has been collected, running the
// collector up to 20 times until it is.
func collected[T any](w weak.Pointer[T]) bool {
	for range 20 {
		if w.Value() == nil {
			return true
		}
		runtime.GC()
	}
	return w.Value() == nil
}

// TestAsCompletedKeepsNoReference: a future AsCompleted has yielded can be
// collected while the loop goes on, once the caller holds it no more: here
// the slice given to AsCompleted is a temporary and the promises are dropped
// as they complete. Futures 0 and 1 are done at the start (AsCompleted's
// first path); 2, 3 and 4 complete together in the first iteration's body,
// so that they come out of one batch (the second path).
func TestAsCompletedKeepsNoReference(t *testing.T) {
	var ws []weak.Pointer[Future[int]]
	var later []Promise[int]
	futures := func() []*Future[int] {
		fs, ps := pending(5)
		for _, f := range fs {
			ws = append(ws, weak.Make(f))
		}
		ps[0].SetResult(0)
		ps[1].SetResult(1)
		later = slices.Clone(ps[2:])
		return fs
	}
	var yielded []int
	for f, err := range AsCompleted(context.Background(), futures()) {
		if err != nil {
			t.Fatal(err)
		}
		yielded = append(yielded, slices.Index(ws, weak.Make(f)))
		if len(yielded) == 1 {
			for i := range later {
				later[i].SetResult(i + 2)
				later[i] = Promise[int]{}
			}
		}
		for _, i := range yielded[:len(yielded)-1] {
			if !collected(ws[i]) {
				t.Fatalf("future %d is still reachable after it was yielded (yielded so far %v)", i, yielded)
			}
		}
	}
	if len(yielded) != 5 {
		t.Fatalf("yielded %v", yielded)
	}
}

// nWaiters returns how many waiters f holds.
func (f *Future[T]) nWaiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiters == nil {
		return 0
	}
	return len(f.waiters.ws)
}

// The size the Future doc comment gives, which every pending future costs.
func TestFutureSize(t *testing.T) {
	if n := unsafe.Sizeof(Future[int]{}); n != 80 {
		t.Fatalf("a Future[int] is %d bytes; the doc comment of Future says 80", n)
	}
}
