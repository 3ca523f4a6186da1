package process

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

// A callCtx ends once, with the error it is ended with or
// context.DeadlineExceeded at its deadline; contexts derived from it and
// AfterFuncs end with it, with its error as their cause; it has its
// parent's values but not its cancellation.
func TestCallCtx(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	far := time.Now().Add(time.Hour)
	c := newCallCtx(parent, far)
	cancelParent()
	if c.Err() != nil || c.Value(ctxKey{}) != "v" {
		t.Fatalf("Err %v, value %v: want its parent's values, not its end", c.Err(), c.Value(ctxKey{}))
	}
	if d, ok := c.Deadline(); !ok || !d.Equal(far) {
		t.Fatalf("Deadline = %v, %v", d, ok)
	}
	child, cancelChild := context.WithCancel(c)
	defer cancelChild()
	later, cancelLater := context.WithDeadline(c, far.Add(time.Hour))
	defer cancelLater()
	if d, _ := later.Deadline(); !d.Equal(far) {
		t.Fatalf("a later deadline below it: %v, want its own", d)
	}
	ran := make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	stopped := context.AfterFunc(c, func() { t.Error("a stopped AfterFunc ran") })
	if !stopped() {
		t.Fatal("stop = false before the end")
	}

	c.end(context.DeadlineExceeded) // the host saw the deadline pass
	c.end(context.Canceled)         // too late: ignored
	<-c.Done()
	<-child.Done()
	<-ran
	for name, ctx := range map[string]context.Context{"ctx": c, "derived": child, "derived with a deadline": later} {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			t.Errorf("%s: Err %v, cause %v; want context.DeadlineExceeded", name, ctx.Err(), context.Cause(ctx))
		}
	}
	after := make(chan struct{})
	context.AfterFunc(c, func() { close(after) }) // once ended: at once
	<-after

	past := newCallCtx(context.Background(), time.Now().Add(-time.Second))
	<-past.Done()
	soon := newCallCtx(context.Background(), time.Now().Add(time.Millisecond))
	<-soon.Done()
	none := newCallCtx(context.Background(), time.Time{})
	if _, ok := none.Deadline(); ok {
		t.Fatal("a deadline without one")
	}
	none.end(context.Canceled)
	for _, ctx := range []context.Context{past, soon} {
		if ctx.Err() != context.DeadlineExceeded || context.Cause(ctx) != context.DeadlineExceeded {
			t.Errorf("at its deadline: Err %v, cause %v", ctx.Err(), context.Cause(ctx))
		}
	}
	if none.Err() != context.Canceled || context.Cause(none) != context.Canceled {
		t.Errorf("ended: Err %v, cause %v", none.Err(), context.Cause(none))
	}
}
