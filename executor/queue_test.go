package executor

import (
	"context"
	"slices"
	"testing"

	"github.com/gofutures/gofutures/executor/driver"
)

// TestQueueAgainstSlice runs the same operations on a queue and on a plain
// slice, across blocks filled, drained, kept and given back, timed and
// untimed entries, removals from the middle and draining.
func TestQueueAgainstSlice(t *testing.T) {
	var q queue
	var model []entry
	scopes := []*scope{nil, {}, {}}
	next := 0
	push := func(n int) {
		for range n {
			next++
			e := entry{t: idTask(next), s: scopes[next%3]}
			if next%5 == 0 {
				e.at = int64(next)
			}
			q.push(e)
			model = append(model, e)
		}
	}
	pop := func(n int) {
		for range n {
			e, ok := q.pop()
			if ok != (len(model) > 0) {
				t.Fatalf("pop: ok %v with %d in the model", ok, len(model))
			}
			if !ok {
				return
			}
			if e != model[0] {
				t.Fatalf("pop: %+v, want %+v", e, model[0])
			}
			model = model[1:]
		}
	}
	check := func(step string) {
		t.Helper()
		if q.len() != len(model) {
			t.Fatalf("%s: len %d, want %d", step, q.len(), len(model))
		}
		var got []*scope
		q.eachScope(func(s *scope) { got = append(got, s) })
		var want []*scope
		for _, e := range model {
			if e.s != nil {
				want = append(want, e.s)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: eachScope saw %d scopes, want %d", step, len(got), len(want))
		}
		if q.spares > keepBlocks {
			t.Fatalf("%s: %d spare blocks kept, at most %d", step, q.spares, keepBlocks)
		}
	}
	for _, n := range []int{1, blockLen - 1, blockLen, blockLen + 1, 3 * blockLen, 10 * blockLen} {
		push(n)
		check("push")
		pop(n / 2)
		check("pop half")
		push(n)
		check("push again")
		gone := q.remove(func(e entry) bool { return int(e.t.(idTask))%7 == 0 })
		var kept []entry
		var want []entry
		for _, e := range model {
			if int(e.t.(idTask))%7 == 0 {
				want = append(want, e)
			} else {
				kept = append(kept, e)
			}
		}
		model = kept
		if !slices.Equal(gone, want) {
			t.Fatalf("remove: %d entries, want %d", len(gone), len(want))
		}
		check("remove")
		pop(len(model) + 1)
		check("pop all")
	}
	push(2*blockLen + 3)
	if got := q.drain(); !slices.Equal(got, model) {
		t.Fatalf("drain: %d entries, want %d", len(got), len(model))
	}
	model = nil
	check("drain")
	if q.spares != keepBlocks {
		t.Fatalf("%d spare blocks after bursts, want %d", q.spares, keepBlocks)
	}
}

// idTask is a Task that is only a number, for the queue's tests.
type idTask int

func (idTask) Start() bool               { return true }
func (idTask) Run(context.Context) error { return nil }
func (idTask) Fail(error) bool           { return true }
func (idTask) Cancel() bool              { return true }
func (idTask) Remote() driver.Remote     { return nil }
