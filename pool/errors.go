package pool

import (
	"errors"
	"fmt"
)

// Sentinel errors of package pool. Test with errors.Is; the errors returned
// usually wrap one of these with more detail.
var (
	// ErrClosed: the pool no longer accepts work because Close or Terminate
	// was called (Python's "Pool not running").
	ErrClosed = errors.New("pool: not running")
	// ErrTerminated: the work was outstanding when Terminate was called and
	// will not deliver a result.
	ErrTerminated = errors.New("pool: terminated")
	// ErrStillRunning: Join was called before Close or Terminate.
	ErrStillRunning = errors.New("pool: still running (call Close or Terminate before Join)")
)

// ItemError is the error of one item of a Map or Imap call: the function
// failed on it, the task holding it failed as a whole (its worker died, the
// executor stopped), or the input sequence reported an error at its position.
// It wraps the cause, so errors.Is and errors.As see through it.
type ItemError struct {
	// Index is the item's position in the input, from 0.
	Index int
	// Input reports that the error came from the input sequence itself
	// (ImapFallible, ImapUnorderedFallible), not from running the function.
	Input bool
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *ItemError) Error() string {
	if e.Input {
		return fmt.Sprintf("pool: input item %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("pool: item %d: %v", e.Index, e.Err)
}

// Unwrap returns the cause.
func (e *ItemError) Unwrap() error { return e.Err }
