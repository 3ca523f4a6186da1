package executor

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Sentinel errors of every executor in this module. Test with errors.Is; the
// errors returned usually wrap one of these with more detail. Where data
// matters the error is typed instead (test with errors.As): *PanicError for a
// task that panicked or called runtime.Goexit (its Goexit field tells which),
// and the typed errors of the process and cluster executors for a worker that
// died.
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

// PanicError is the error of a task that panicked or called runtime.Goexit
// (as t.FailNow does in a test). For a panic, the worker recovers it,
// finishes the task's future with this error and keeps running. A Goexit
// cannot be stopped: the future fails with this error, Goexit set, on the
// goroutine's way out, and the executor counts that worker gone and starts
// another for the work still queued. An initializer that panics or calls
// runtime.Goexit breaks the executor with this error as the cause.
type PanicError struct {
	// Value is the value passed to panic; for a Goexit, a string saying so
	// ("runtime.Goexit called in task"). For a task that ran in another
	// process it is the string the helper printed for it.
	Value any
	// Stack is the stack of the panicking goroutine; for a Goexit, where
	// runtime.Goexit was called.
	Stack []byte
	// Goexit reports that the task did not panic but called runtime.Goexit.
	Goexit bool
}

// goexitError returns the error of code that called runtime.Goexit, with
// the stack of the call. Call it from a function deferred by that code.
func goexitError(where string) *PanicError {
	return &PanicError{Value: "runtime.Goexit called in " + where, Stack: debug.Stack(), Goexit: true}
}

// Error implements error.
func (e *PanicError) Error() string {
	if e.Goexit {
		return fmt.Sprintf("executor: %v", e.Value)
	}
	return fmt.Sprintf("executor: task panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
