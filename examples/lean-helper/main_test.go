package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The helper built from ./helper serves the tasks, and it links neither the
// host's own dependency (Prometheus) nor anything else the host has and
// package tasks does not import.
func TestLeanHelper(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the helper with")
	}
	bin, err := buildHelper(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range info.Deps {
		if strings.HasPrefix(d.Path, "github.com/prometheus/") {
			t.Errorf("the helper links %s, a dependency of the host alone", d.Path)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, &out, bin); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "collatz(1) = 0\n") || !strings.Contains(got, "collatz(9) = 19\n") {
		t.Fatalf("output:\n%s", got)
	}
}
