package main

import "testing"

func TestIsPrime(t *testing.T) {
	for n, want := range map[int64]bool{-7: false, 0: false, 1: false, 2: true, 3: true, 4: false, 9: false, 97: true, 7919: true, 7917: false} {
		if got := IsPrime(n); got != want {
			t.Errorf("IsPrime(%d) = %v", n, got)
		}
	}
	for i, n := range PRIMES {
		if got, want := IsPrime(n), i < len(PRIMES)-1; got != want {
			t.Errorf("IsPrime(%d) = %v, want %v", n, got, want)
		}
	}
}
