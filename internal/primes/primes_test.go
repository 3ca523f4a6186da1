package primes_test

import (
	"fmt"
	"testing"

	"github.com/gofutures/gofutures/internal/primes"
)

func TestIsPrime(t *testing.T) {
	for n, want := range map[int64]bool{-7: false, 0: false, 1: false, 2: true, 3: true, 4: false, 9: false, 97: true, 7919: true, 7917: false} {
		if got := primes.IsPrime(n); got != want {
			t.Errorf("IsPrime(%d) = %v", n, got)
		}
	}
}

func ExampleIsPrime() {
	for _, n := range primes.PRIMES {
		fmt.Println(n, primes.IsPrime(n))
	}
	// Output:
	// 112272535095293 true
	// 112582705942171 true
	// 112272535095293 true
	// 115280095190773 true
	// 115797848077099 true
	// 1099726899285419 false
}
