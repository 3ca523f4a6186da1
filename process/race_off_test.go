//go:build !race

package process_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
