// Package ring provides Ring, a growable FIFO queue: executor.Map's window
// in package executor, a process pool's queue and each helper's calls in
// flight in package process. (GoPool keeps its queue in blocks of its own,
// executor/queue.go, which give memory back as they drain.)
package ring
