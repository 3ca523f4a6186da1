package future

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errBoom = errors.New("boom")

// emptyErr is an error whose message is empty: it still counts as failure
// (Python < 3.14 treated "falsy" exceptions as success).
type emptyErr struct{}

func (emptyErr) Error() string { return "" }

func TestTransitions(t *testing.T) {
	ctx := context.Background()
	f, p := New[int]()
	if f.State() != Pending || f.Ready() || f.Running() || f.Cancelled() {
		t.Fatalf("new future: state %v", f.State())
	}
	if ok, err := p.SetRunning(); !ok || err != nil {
		t.Fatalf("SetRunning = %v, %v", ok, err)
	}
	if !f.Running() {
		t.Fatal("not running")
	}
	if ok, err := p.SetRunning(); ok || !errors.Is(err, ErrInvalidState) {
		t.Fatalf("second SetRunning = %v, %v", ok, err)
	}
	if f.Cancel() {
		t.Fatal("Cancel of a running future returned true")
	}
	if err := p.SetResult(7); err != nil {
		t.Fatal(err)
	}
	for _, second := range []error{p.SetResult(8), p.SetError(errBoom), p.Set(9, nil)} {
		if !errors.Is(second, ErrInvalidState) {
			t.Fatalf("second completion: %v", second)
		}
	}
	if v, err := f.Result(ctx); v != 7 || err != nil {
		t.Fatalf("Result = %v, %v; the first outcome must stay", v, err)
	}
	if f.Cancel() {
		t.Fatal("Cancel of a finished future returned true")
	}
	if f.State() != Finished {
		t.Fatalf("state %v", f.State())
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		complete func(Promise[int])
		wantV    int
		wantErr  error
		wantOK   bool
	}{
		{"value", func(p Promise[int]) { p.SetResult(1) }, 1, nil, true},
		{"error", func(p Promise[int]) { p.SetError(errBoom) }, 0, errBoom, false},
		{"value and error", func(p Promise[int]) { p.Set(5, errBoom) }, 5, errBoom, false},
		{"empty error counts", func(p Promise[int]) { p.SetError(emptyErr{}) }, 0, emptyErr{}, false},
		{"cancelled", func(p Promise[int]) { p.Future().Cancel() }, 0, ErrCancelled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := New[int]()
			if _, err := f.Successful(); !errors.Is(err, ErrNotReady) {
				t.Fatalf("Successful before ready: %v", err)
			}
			tt.complete(p)
			v, err := f.Result(ctx)
			if v != tt.wantV || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Result = %v, %v; want %v, %v", v, err, tt.wantV, tt.wantErr)
			}
			if err2 := f.Err(ctx); !errors.Is(err2, tt.wantErr) || (tt.wantErr == nil) != (err2 == nil) {
				t.Fatalf("Err = %v", err2)
			}
			if ok, err := f.Successful(); ok != tt.wantOK || err != nil {
				t.Fatalf("Successful = %v, %v", ok, err)
			}
			select {
			case <-f.Done():
			default:
				t.Fatal("Done not closed")
			}
		})
	}
}

func TestResultContextEndsFutureUnchanged(t *testing.T) {
	f, p := New[int]()
	p.SetRunning()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.Result(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Result = %v, want DeadlineExceeded", err)
	}
	if f.State() != Running {
		t.Fatalf("state changed to %v", f.State())
	}
	cause := errors.New("my cause")
	cctx, ccancel := context.WithCancelCause(context.Background())
	ccancel(cause)
	if err := f.Err(cctx); !errors.Is(err, cause) {
		t.Fatalf("Err = %v, want the ctx's cause", err)
	}
	// A done future answers even to an ended ctx.
	p.SetResult(3)
	if v, err := f.Result(cctx); v != 3 || err != nil {
		t.Fatalf("Result on ended ctx = %v, %v", v, err)
	}
}

func TestResultWakesWaiters(t *testing.T) {
	f, p := New[string]()
	const n = 8
	var wg sync.WaitGroup
	got := make(chan string, n)
	for range n {
		wg.Go(func() {
			v, _ := f.Result(context.Background())
			got <- v
		})
	}
	p.SetResult("x")
	wg.Wait()
	close(got)
	for v := range got {
		if v != "x" {
			t.Fatal(v)
		}
	}
}

func TestNilContextPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	f, _ := New[int]()
	var nilCtx context.Context
	f.Result(nilCtx)
}

func TestCancel(t *testing.T) {
	f, _ := New[int]()
	var calls atomic.Int32
	f.AddDoneCallback(func(g *Future[int]) {
		if g != f {
			t.Error("callback got another future")
		}
		calls.Add(1)
	})
	if !f.Cancel() {
		t.Fatal("Cancel of pending = false")
	}
	if !f.Cancel() {
		t.Fatal("second Cancel = false")
	}
	if calls.Load() != 1 {
		t.Fatalf("callbacks ran %d times", calls.Load())
	}
	if !f.Cancelled() || !f.Ready() {
		t.Fatal("state")
	}
	p := Promise[int]{f}
	if ok, err := p.SetRunning(); ok || err != nil {
		t.Fatalf("SetRunning on cancelled = %v, %v; want false, nil (skip the work)", ok, err)
	}
	if err := p.SetResult(1); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("SetResult on cancelled: %v", err)
	}
}

func TestCallbacks(t *testing.T) {
	var order []int
	var panics []*CallbackPanicError
	f, p := New[int](WithCallbackPanicHandler(func(e *CallbackPanicError) { panics = append(panics, e) }))
	cb := func(*Future[int]) { order = append(order, 1) }
	f.AddDoneCallback(cb)
	f.AddDoneCallback(func(*Future[int]) { panic(errBoom) })
	f.AddDoneCallback(func(*Future[int]) { order = append(order, 2) })
	f.AddDoneCallback(cb) // the same function twice runs twice
	if len(order) != 0 {
		t.Fatal("callback ran before completion")
	}
	p.SetResult(1) // callbacks run here, in the completing goroutine
	if want := []int{1, 2, 1}; !equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if len(panics) != 1 || !errors.Is(panics[0], errBoom) || len(panics[0].Stack) == 0 {
		t.Fatalf("panics %v", panics)
	}
	// Already done: runs at once in the caller.
	f.AddDoneCallback(func(*Future[int]) { order = append(order, 3) })
	if order[len(order)-1] != 3 {
		t.Fatal("callback on a done future did not run at once")
	}
	p.SetResult(2) // rejected: callbacks must not run again
	if len(order) != 4 {
		t.Fatalf("callbacks ran again: %v", order)
	}
}

// TestCallbackGoexit: a done-callback that calls runtime.Goexit ends the
// completing goroutine, which nothing can stop, but the future is done for
// its waiters, the callbacks after it still run (in that goroutine, on its
// way out), and the handler hears of each such callback as a
// *CallbackPanicError with Goexit set.
func TestCallbackGoexit(t *testing.T) {
	var reported []*CallbackPanicError
	f, p := New[int](WithCallbackPanicHandler(func(e *CallbackPanicError) { reported = append(reported, e) }))
	var order []int
	f.AddDoneCallback(func(*Future[int]) { order = append(order, 1) })
	f.AddDoneCallback(func(*Future[int]) { runtime.Goexit() })
	f.AddDoneCallback(func(*Future[int]) { order = append(order, 3) })
	f.AddDoneCallback(func(*Future[int]) { runtime.Goexit() })
	f.AddDoneCallback(func(*Future[int]) { order = append(order, 5) })
	exited := make(chan struct{})
	go func() {
		defer close(exited) // runs last, after the future's own deferred work
		_ = p.SetResult(7)
		t.Error("SetResult returned although a callback called runtime.Goexit")
	}()
	<-exited
	if v, err := f.Result(context.Background()); v != 7 || err != nil {
		t.Fatalf("Result = (%d, %v)", v, err)
	}
	if want := []int{1, 3, 5}; !equal(order, want) {
		t.Fatalf("callbacks ran %v, want %v", order, want)
	}
	if len(reported) != 2 {
		t.Fatalf("handler got %v, want two reports", reported)
	}
	for _, e := range reported {
		if !e.Goexit || !strings.Contains(e.Error(), "runtime.Goexit") || !bytes.Contains(e.Stack, []byte("runtime.Goexit")) {
			t.Fatalf("report %v (Goexit %v), stack:\n%s", e, e.Goexit, e.Stack)
		}
	}
}

func TestCallbackPanicDefaultHandler(t *testing.T) {
	f, p := New[int]()
	ran := false
	f.AddDoneCallback(func(*Future[int]) { panic("logged through slog") })
	f.AddDoneCallback(func(*Future[int]) { ran = true })
	p.SetResult(1)
	if !ran {
		t.Fatal("the callback after a panicking one did not run")
	}
}

// TestCompleteOnce races cancellers and completers: exactly one outcome wins
// and the callback runs exactly once.
func TestCompleteOnce(t *testing.T) {
	for range 200 {
		f, p := New[int]()
		var calls atomic.Int32
		f.AddDoneCallback(func(*Future[int]) { calls.Add(1) })
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				if i%2 == 0 {
					if p.SetResult(i) == nil {
						wins.Add(1)
					}
				} else {
					f.Cancel()
				}
			})
		}
		wg.Wait()
		if calls.Load() != 1 {
			t.Fatalf("callback ran %d times", calls.Load())
		}
		if f.Cancelled() == (wins.Load() == 1) || wins.Load() > 1 {
			t.Fatalf("cancelled=%v, result wins=%d", f.Cancelled(), wins.Load())
		}
	}
}

func TestDoneChannel(t *testing.T) {
	f, p := New[int]()
	ch := f.Done()
	select {
	case <-ch:
		t.Fatal("closed early")
	default:
	}
	p.SetResult(1)
	<-ch
	if f.Done() != ch {
		t.Fatal("Done returned another channel")
	}
	g := Completed(2)
	<-g.Done() // done before Done was called: the shared closed channel
	if v, _ := g.Result(context.Background()); v != 2 {
		t.Fatal(v)
	}
	if err := Failed[int](errBoom).Err(context.Background()); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Pending: "PENDING", Running: "RUNNING", Finished: "FINISHED", Cancelled: "CANCELLED", State(9): "State(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
