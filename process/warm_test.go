package process

import (
	"context"
	"testing"
)

// panicky is a type whose GobEncode panics.
type panicky struct{}

func (panicky) GobEncode() ([]byte, error) { panic("no") }
func (*panicky) GobDecode([]byte) error    { return nil }

// In a helper, Register leaves the check of the types to the host (it would
// fail there first), and warm, which runs it later, survives what fails.
func TestRegisterInHelper(t *testing.T) {
	id := func(_ context.Context, v any) (any, error) { return v, nil }
	if _, err := Register(NewRegistry(), "id", id); err == nil {
		t.Fatal("a host registered a function of interface types")
	}
	t.Setenv(helperEnv, "4")
	reg := NewRegistry()
	if _, err := Register(reg, "id", id); err != nil {
		t.Fatalf("in a helper: %v", err)
	}
	if _, err := Register(reg, "panicky", func(context.Context, int) (panicky, error) { return panicky{}, nil }); err != nil {
		t.Fatalf("in a helper: %v", err)
	}
	reg.warm()
}
