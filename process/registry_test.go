package process_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gofutures/gofutures/process"
)

func TestRegister(t *testing.T) {
	r := process.NewRegistry()
	ok := func(_ context.Context, x int) (int, error) { return x, nil }
	if _, err := process.Register(r, "f", ok); err != nil {
		t.Fatal(err)
	}
	for name, reg := range map[string]func() error{
		"duplicate": func() error { _, err := process.Register(r, "f", ok); return err },
		"empty":     func() error { _, err := process.Register(r, "", ok); return err },
		"nil":       func() error { _, err := process.Register[int, int](r, "n", nil); return err },
		"chan arg": func() error {
			_, err := process.Register(r, "c", func(context.Context, chan int) (int, error) { return 0, nil })
			return err
		},
		"func result": func() error {
			_, err := process.Register(r, "fr", func(context.Context, int) (func(), error) { return nil, nil })
			return err
		},
		"interface": func() error {
			_, err := process.Register(r, "i", func(context.Context, any) (int, error) { return 0, nil })
			return err
		},
		"no exported fields": func() error {
			_, err := process.Register(r, "s", func(context.Context, struct{ x int }) (int, error) { return 0, nil })
			return err
		},
	} {
		if err := reg(); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	if got := r.Names(); !slices.Equal(got, []string{"f"}) {
		t.Fatalf("Names = %v", got)
	}
	func() {
		defer func() {
			if v := recover(); v == nil || !strings.Contains(v.(error).Error(), "already registered") {
				t.Fatalf("MustRegister: %v", v)
			}
		}()
		process.MustRegister(r, "f", ok)
	}()
	s := errors.New("s")
	if err := r.RegisterError("s", s); err != nil {
		t.Fatal(err)
	}
	if r.RegisterError("s", errors.New("other")) == nil || r.RegisterError("t", s) == nil || r.RegisterError("", s) == nil {
		t.Fatal("RegisterError accepted a duplicate or an empty name")
	}
}
