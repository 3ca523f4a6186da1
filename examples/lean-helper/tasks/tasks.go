// Package tasks registers the functions of the lean-helper example. It is
// the one package its host and its helper binary share, so it imports
// nothing but package process (and what its functions need): everything
// the helper links comes from here.
package tasks

import (
	"context"

	"github.com/gofutures/gofutures/process"
)

// Registry holds the example's functions.
var Registry = process.NewRegistry()

// Collatz returns how many steps of the Collatz map take n to 1.
var Collatz = process.MustRegister(Registry, "collatz", func(_ context.Context, n int64) (int, error) {
	steps := 0
	for ; n > 1; steps++ {
		if n%2 == 0 {
			n /= 2
		} else {
			n = 3*n + 1
		}
	}
	return steps, nil
})
