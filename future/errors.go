package future

import (
	"errors"
	"fmt"
)

// ErrCancelled is the error of a future that was cancelled before it ran.
// Test for it with errors.Is.
var ErrCancelled = errors.New("future: cancelled")

// ErrInvalidState is returned when a Promise tries to complete or start a
// future that is not in a state that allows it (for instance a second
// SetResult). The first outcome always stays. Test for it with errors.Is.
var ErrInvalidState = errors.New("future: invalid state")

// ErrNotReady is returned by Successful when the future is not done yet.
var ErrNotReady = errors.New("future: not ready")

// CallbackPanicError describes a done-callback that panicked or called
// runtime.Goexit. It is passed to the handler set with
// WithCallbackPanicHandler; the remaining callbacks still run.
type CallbackPanicError struct {
	// Value is what the callback passed to panic; for a Goexit, a string
	// saying so.
	Value any
	// Stack is the goroutine's stack at the panic or the Goexit.
	Stack []byte
	// Goexit reports that the callback did not panic but called
	// runtime.Goexit: the goroutine that ran it exits once the remaining
	// callbacks have run.
	Goexit bool
}

// Error implements error.
func (e *CallbackPanicError) Error() string {
	if e.Goexit {
		return fmt.Sprintf("future: %v", e.Value)
	}
	return fmt.Sprintf("future: done-callback panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through the panic.
func (e *CallbackPanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func invalidState(op string, s State) error {
	return fmt.Errorf("%w: %s on a %s future", ErrInvalidState, op, s)
}
