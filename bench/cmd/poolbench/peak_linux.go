package main

import (
	"os"
	"syscall"
)

// peakKiB returns the peak resident set size of the process that ps
// describes, in KiB (Linux's unit of ru_maxrss), or 0 if unknown.
func peakKiB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}
