package main

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, 200, 2, 7); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	// Among 10^12+1, 10^12+3, ..., 10^12+399 there are 16 primes.
	if !strings.Contains(s, "100% 200/200") || !strings.Contains(s, "16 of 200 numbers are prime") {
		t.Errorf("output:\n%s", s)
	}
}

func TestIsPrime(t *testing.T) {
	for n, want := range map[int64]bool{0: false, 1: false, 2: true, 3: true, 4: false, 25: false, 97: true, 1_000_000_000_039: true} {
		if got, _ := isPrime(context.Background(), n); got != want {
			t.Errorf("isPrime(%d) = %v", n, got)
		}
	}
}
