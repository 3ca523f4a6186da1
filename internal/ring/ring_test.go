package ring_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gofutures/gofutures/internal/ring"
)

// TestAgainstSlice runs the same operations on a Ring and on a plain slice,
// across growth, wrap-around and the shrink of an emptied large ring.
func TestAgainstSlice(t *testing.T) {
	var q ring.Ring[int]
	var model []int
	next := 0
	check := func(step string) {
		t.Helper()
		if q.Len() != len(model) {
			t.Fatalf("%s: Len %d, want %d", step, q.Len(), len(model))
		}
		v, ok := q.Peek()
		if ok != (len(model) > 0) || (ok && v != model[0]) {
			t.Fatalf("%s: Peek %d %v, model %v", step, v, ok, model[:min(3, len(model))])
		}
	}
	for round := range 200 {
		for range round % 37 * 3 { // bursts of growing and varying size
			q.Push(next)
			model = append(model, next)
			next++
		}
		check("push")
		for range round % 23 {
			v, ok := q.Pop()
			if len(model) == 0 {
				if ok {
					t.Fatalf("Pop of an empty ring returned %d", v)
				}
				continue
			}
			if !ok || v != model[0] {
				t.Fatalf("Pop %d %v, want %d", v, ok, model[0])
			}
			model = model[1:]
		}
		check("pop")
		if round%5 == 0 {
			front := []int{-round, -round - 1}
			q.Requeue(front)
			model = append(slices.Clone(front), model...)
			check("requeue")
		}
		if round%50 == 49 {
			if got := q.Drain(); !slices.Equal(got, model) {
				t.Fatalf("Drain %v..., want %v...", got[:min(5, len(got))], model[:min(5, len(model))])
			}
			model = nil
			check("drain")
		}
	}
}

func TestZeroValue(t *testing.T) {
	var q ring.Ring[string]
	if _, ok := q.Pop(); ok {
		t.Fatal("Pop of the zero Ring returned a value")
	}
	if _, ok := q.Peek(); ok {
		t.Fatal("Peek of the zero Ring returned a value")
	}
	if got := q.Drain(); len(got) != 0 {
		t.Fatalf("Drain of the zero Ring: %v", got)
	}
	q.PushFront("a")
	if v, ok := q.Pop(); !ok || v != "a" {
		t.Fatalf("Pop after PushFront on the zero Ring: %q %v", v, ok)
	}
}

func Example() {
	var q ring.Ring[string]
	q.Push("b")
	q.Push("c")
	q.PushFront("a")
	for q.Len() > 0 {
		v, _ := q.Pop()
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: a b c
}
