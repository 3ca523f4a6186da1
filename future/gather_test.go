package future

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestGatherInOrder(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(3)
	done := make(chan []int, 1)
	go func() {
		v, err := Gather(ctx, append(fs, fs[0])) // a duplicate gets its value twice
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	ps[2].SetResult(2)
	ps[0].SetResult(0)
	ps[1].SetResult(1)
	if v := <-done; !slices.Equal(v, []int{0, 1, 2, 0}) {
		t.Fatal(v)
	}
	if v, err := Gather(ctx, []*Future[int]{}); err != nil || len(v) != 0 {
		t.Fatal(v, err)
	}
}

func TestGatherFirstError(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(3)
	boom := errors.New("boom")
	ps[0].SetResult(0)
	ps[2].SetError(boom) // fs[1] stays pending: Gather must not wait for it
	v, err := Gather(ctx, fs)
	var ge *GatherError
	if v != nil || !errors.As(err, &ge) || ge.Index != 2 || !errors.Is(err, boom) || ge.Errs != nil {
		t.Fatalf("%v %v", v, err)
	}
	if fs[1].Ready() {
		t.Fatal("Gather changed a pending future")
	}
	fs[1].Cancel()
	if _, err := Gather(ctx, fs[:2]); !errors.Is(err, ErrCancelled) {
		t.Fatal(err)
	}
}

func TestGatherAllErrors(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(4)
	e1, e3 := errors.New("one"), errors.New("three")
	ps[3].Set(30, e3)
	ps[0].SetResult(0)
	ps[1].SetError(e1)
	ps[2].SetResult(2)
	v, err := Gather(ctx, fs, AllErrors())
	var ge *GatherError
	if !errors.As(err, &ge) || ge.Index != 1 || ge.Err != e1 {
		t.Fatal(err)
	}
	if !slices.Equal(v, []int{0, 0, 2, 30}) || !slices.Equal(ge.Errs, []error{nil, e1, nil, e3}) {
		t.Fatal(v, ge.Errs)
	}
	if !errors.Is(err, e1) || !errors.Is(err, e3) {
		t.Fatal("errors.Is does not see every error")
	}
}

func TestGatherCtxEnds(t *testing.T) {
	fs, ps := pending(2)
	ps[0].SetResult(1)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("gave up")
	cancel(cause)
	_, err := Gather(ctx, fs)
	var ue *UnfinishedError
	if !errors.As(err, &ue) || ue.Unfinished != 1 || !errors.Is(err, cause) {
		t.Fatal(err)
	}
	if fs[1].Ready() {
		t.Fatal("future changed")
	}
}

func TestFirstSuccess(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(3)
	ps[0].SetError(errors.New("first fails"))
	ps[1].SetRunning()
	ps[1].SetResult(7) // fs[2] is pending: it must be cancelled
	v, err := FirstSuccess(ctx, fs)
	if v != 7 || err != nil {
		t.Fatal(v, err)
	}
	if !fs[2].Cancelled() {
		t.Fatal("loser not cancelled")
	}

	fs, ps = pending(2)
	e0, e1 := errors.New("a"), errors.New("b")
	ps[1].SetError(e1)
	ps[0].SetError(e0)
	_, err = FirstSuccess(ctx, fs)
	var ge *GatherError
	if !errors.As(err, &ge) || !slices.Equal(ge.Errs, []error{e0, e1}) || ge.Index != 0 {
		t.Fatal(err)
	}
	if _, err := FirstSuccess(ctx, []*Future[int]{}); err == nil {
		t.Fatal("no error for no futures")
	}
}

func TestAsCompletedIndex(t *testing.T) {
	ctx := context.Background()
	fs, ps := pending(3)
	ps[1].SetResult(1)
	var got []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, err := range AsCompletedIndex(ctx, append(fs, fs[2])) {
			if err != nil {
				t.Error(err)
				return
			}
			got = append(got, i)
			if len(got) == 1 {
				ps[2].SetResult(2)
				ps[0].SetResult(0)
			}
		}
	}()
	<-done
	if len(got) != 3 || got[0] != 1 || !slices.Contains(got, 0) || !slices.Contains(got, 2) {
		t.Fatal(got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	fs, _ = pending(1)
	for i, err := range AsCompletedIndex(cctx, fs) {
		if i != -1 || !errors.Is(err, context.Canceled) {
			t.Fatal(i, err)
		}
	}
}
