// Package ring provides Ring, the growable FIFO queue that the executors of
// this module keep their waiting work in: GoPool's task queue and Map's
// window in package executor, a process pool's queue and each helper's calls
// in flight in package process.
package ring
