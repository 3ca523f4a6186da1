//go:build race

package process_test

// raceEnabled reports whether the race detector is on: a helper built with
// it can die of its own out-of-memory error instead of the Go runtime's.
const raceEnabled = true
