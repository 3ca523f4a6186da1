// Package primes is the is_prime job of Python's concurrent.futures
// documentation, shared by examples/primes and the process benchmark.
package primes
