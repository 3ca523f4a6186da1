package executor

import (
	"errors"
	"fmt"
)

// Sentinel errors of every executor in this module. Test with errors.Is; the
// errors returned usually wrap one of these with more detail.
var (
	// ErrShutdown: the executor no longer accepts work (Shutdown or Stop was called).
	ErrShutdown = errors.New("executor: shut down")
	// ErrStopped: the task was failed by a hard Stop before or while it ran.
	ErrStopped = errors.New("executor: stopped")
	// ErrBroken: the executor cannot run work any more, because workers
	// cannot be started or their initializer failed. It wraps the cause.
	ErrBroken = errors.New("executor: broken")
	// ErrOverloaded: the bounded queue is full and the executor fails fast.
	ErrOverloaded = errors.New("executor: queue full")
	// ErrWorkerDied: the worker running the task died (a helper process that
	// exited or was killed). Executors return a typed error that matches it.
	ErrWorkerDied = errors.New("executor: worker died")
	// ErrNotRemote: a remote executor was given a task that is a Go closure or
	// an unregistered function, which cannot leave this process.
	ErrNotRemote = errors.New("executor: function cannot run remotely (register it by name)")
)

// PanicError is the error of a task that panicked. The worker recovers the
// panic, finishes the task's future with this error and keeps running.
type PanicError struct {
	// Value is the value passed to panic. For a task that ran in another
	// process it is the string the helper printed for it.
	Value any
	// Stack is the stack of the panicking goroutine.
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("executor: task panicked: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
