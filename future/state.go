package future

import "fmt"

// State is the lifecycle state of a Future.
type State uint32

// The states of a Future. Finished and Cancelled are final; a future in either
// is "done".
const (
	// Pending: created, not yet started; can be cancelled.
	Pending State = iota
	// Running: an executor has started the work; it can no longer be cancelled.
	Running
	// Finished: completed with a value or an error.
	Finished
	// Cancelled: cancelled while pending; the work never ran.
	Cancelled
)

// String returns the state's name in upper case, as Python prints it.
func (s State) String() string {
	switch s {
	case Pending:
		return "PENDING"
	case Running:
		return "RUNNING"
	case Finished:
		return "FINISHED"
	case Cancelled:
		return "CANCELLED"
	}
	return fmt.Sprintf("State(%d)", uint32(s))
}

// Done reports whether s is final (Finished or Cancelled).
func (s State) Done() bool { return s >= Finished }
