//go:build !linux

package main

import "os"

// peakKiB returns 0: the peak resident set size is read on Linux only.
func peakKiB(*os.ProcessState) int64 { return 0 }
