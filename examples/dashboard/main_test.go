package main

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/gofutures/process"
)

func TestMain(m *testing.M) {
	process.ServeIfHelper(reg) // the test binary is the helper
	m.Run()
}

func TestRun(t *testing.T) {
	if err := run(context.Background(), "127.0.0.1:0", 500*time.Millisecond, false); err != nil {
		t.Fatal(err)
	}
}
