//go:build race

package executor_test

// raceEnabled reports whether the race detector is on; the stress test runs
// fewer tasks under it.
const raceEnabled = true
