// Package benchfuncs registers the functions the process benchmarks run in
// helper processes, in a package of its own: the benchmark programs, which
// are their own helpers by default, and the lean helper binary
// (cmd/processbench/helper, for process.WithHelper) share it, as the recipe
// in package process's documentation says.
package benchfuncs

import (
	"context"
	"syscall"
	"time"
	"unsafe"

	"github.com/gofutures/gofutures/internal/primes"
	"github.com/gofutures/gofutures/process"
)

// Registry holds the functions below.
var Registry = process.NewRegistry()

var (
	// Inc returns x+1: a trivial task.
	Inc = process.MustRegister(Registry, "inc", func(_ context.Context, x int) (int, error) { return x + 1, nil })
	// IsPrime runs primes.IsPrime.
	IsPrime = process.MustRegister(Registry, "isPrime", func(_ context.Context, n int64) (bool, error) { return primes.IsPrime(n), nil })
	// Sleep sleeps d.
	Sleep = process.MustRegister(Registry, "sleep", func(_ context.Context, d time.Duration) (time.Duration, error) {
		time.Sleep(d)
		return d, nil
	})
	// Stamp reports how the helper it runs in started (see Stamps).
	Stamp = process.MustRegister(Registry, "stamp", func(context.Context, int) (Stamps, error) {
		return Stamps{TimeInit: timeInitAt(), Main: MainAt, Run: Mono()}, nil
	})
)

// MainAt is the clock (Mono) when main began: the programs that serve the
// registry set it first thing in main.
var MainAt int64

// Stamps is what a helper reports of its start, on the clock of Mono.
type Stamps struct {
	TimeInit int64 // package time's initialisation, early in the runtime's start
	Main     int64 // main began (MainAt)
	Run      int64 // the task ran
}

// Mono reads CLOCK_MONOTONIC, the clock of the Go runtime on Linux, which
// is the same in every process, in nanoseconds.
func Mono() int64 {
	var ts syscall.Timespec
	_, _, _ = syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// timeInitAt returns the clock when package time was initialised: the
// monotonic reading of a time.Time counts from then (time.startNano). It
// takes the reading from the time.Time's layout (wall, ext, loc), which is a
// benchmark's licence.
func timeInitAt() int64 {
	now := time.Now()
	abs := Mono()
	ext := (*[2]int64)(unsafe.Pointer(&now))[1]
	return abs - ext
}
