package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func TestRunPlainLines(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, newLines(&out, time.Hour), 200, 2, 7); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	// Among 10^12+1, 10^12+3, ..., 10^12+399 there are 16 primes. With a
	// line every hour, only the last line is printed: no \r frames.
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "progress: 200/200 (100%), ") || !strings.Contains(lines[0], "items/s, eta 0s") ||
		lines[1] != strings.TrimSpace(lines[1]) || !strings.HasPrefix(lines[1], "16 of 200 are prime") || strings.Contains(s, "\r") {
		t.Errorf("output:\n%s", s)
	}
}

func TestRunTerminalBar(t *testing.T) {
	var out strings.Builder
	bar := newTermBar(&out, 200, mpb.WithAutoRefresh(), mpb.WithWidth(60))
	if err := run(context.Background(), &out, bar, 200, 2, 7); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "200/200") || !strings.Contains(s, "100 %") || !strings.Contains(s, "16 of 200 are prime") {
		t.Errorf("output:\n%q", s)
	}
}

func TestIsPrime(t *testing.T) {
	for n, want := range map[int64]bool{0: false, 1: false, 2: true, 3: true, 4: false, 25: false, 97: true, 1_000_000_000_039: true} {
		if got, _ := isPrime(context.Background(), n); got != want {
			t.Errorf("isPrime(%d) = %v", n, got)
		}
	}
}
