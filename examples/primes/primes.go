package main

import "math"

// PRIMES are the numbers of the Python example; all but the last are prime.
var PRIMES = []int64{112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419}

// IsPrime reports whether n is prime by trial division, as the Python
// example does.
func IsPrime(n int64) bool {
	if n < 2 {
		return false
	}
	if n == 2 {
		return true
	}
	if n%2 == 0 {
		return false
	}
	s := int64(math.Floor(math.Sqrt(float64(n))))
	for i := int64(3); i <= s; i += 2 {
		if n%i == 0 {
			return false
		}
	}
	return true
}
