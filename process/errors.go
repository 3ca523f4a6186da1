package process

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// Sentinel errors of this package. Test with errors.Is.
var (
	// ErrEncode: an argument or a result could not be gob-encoded or
	// decoded. Only that task fails.
	ErrEncode = errors.New("process: cannot encode")
	// ErrFrameTooLarge: an encoded argument or result is larger than the
	// maximum frame size (WithMaxFrameSize). Only that task fails; a helper
	// that sends such a frame anyway is killed.
	ErrFrameTooLarge = errors.New("process: frame too large")
	// ErrNotRegistered: the function is not in the pool's registry (or is
	// registered there with other types). Schedule returns it, wrapped
	// together with executor.ErrNotRemote.
	ErrNotRegistered = errors.New("process: function not registered")
	// ErrProtocol: a helper sent bytes that do not follow the protocol. The
	// helper is killed; see WorkerError.
	ErrProtocol = wire.ErrProtocol
	// ErrHandshake: a helper failed the handshake (not a helper, another
	// protocol version, another registry). The pool is broken with it.
	ErrHandshake = errors.New("process: helper handshake failed")
)

// RemoteError is an error returned by a task that ran in a helper process. It
// keeps the error's type name, message and the helper's stack. If the error
// matched a sentinel registered with Registry.RegisterError, RemoteError
// unwraps to that sentinel, so errors.Is works across the boundary.
type RemoteError struct {
	// Type is the Go type of the error in the helper, as %T prints it.
	Type string
	// Message is the error's message.
	Message string
	// Stack is the helper goroutine's stack when the task returned (Go errors
	// carry no stack of their own).
	Stack string
	// Sentinel is the registered name of the sentinel the error matched, or "".
	Sentinel string

	sentinel           error
	temporary, timeout bool
}

// Temporary reports whether the error in the helper said it was temporary
// (a Temporary() bool method returning true anywhere in its chain), so that
// executor.Retryable, the default test of a retry policy, sees it as it
// would in this process.
func (e *RemoteError) Temporary() bool { return e.temporary }

// Timeout reports whether the error in the helper said it was a timeout (a
// Timeout() bool method returning true anywhere in its chain, as net.Error
// and context.DeadlineExceeded have).
func (e *RemoteError) Timeout() bool { return e.timeout }

// Error implements error.
func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the registered sentinel the error matched, or nil.
func (e *RemoteError) Unwrap() error { return e.sentinel }

// WorkerError is the error of a task whose helper process died while it held
// the task: it exited, was killed, ran out of memory, or broke the protocol
// (then it was killed). It matches executor.ErrWorkerDied. The pool starts a
// replacement helper and re-queues the tasks the helper had not started.
type WorkerError struct {
	// Pid is the helper's process id.
	Pid int
	// ExitCode is the exit status, or -1 if it was killed by a signal.
	ExitCode int
	// Signal is the signal that killed it, or 0.
	Signal syscall.Signal
	// Stderr is the tail of the helper's standard error.
	Stderr string
	// Err is the protocol or I/O error that made the pool kill the helper, if any.
	Err error
}

// Error implements error.
func (e *WorkerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "process: helper pid %d died", e.Pid)
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	switch {
	case e.Signal != 0:
		fmt.Fprintf(&b, ": killed by signal %d (%v)", int(e.Signal), e.Signal)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, ": exit status %d", e.ExitCode)
	}
	if e.Stderr != "" {
		fmt.Fprintf(&b, "; stderr tail:\n%s", e.Stderr)
	}
	return b.String()
}

// Is reports whether target is executor.ErrWorkerDied.
func (e *WorkerError) Is(target error) bool { return target == executor.ErrWorkerDied }

// Unwrap returns Err.
func (e *WorkerError) Unwrap() error { return e.Err }

// TimeoutError is the error of a task that ran longer than the pool's task
// timeout (WithTaskTimeout): its helper's whole process group was killed. It
// matches context.DeadlineExceeded (and not executor.ErrWorkerDied).
type TimeoutError struct {
	// Timeout is the limit that was exceeded.
	Timeout time.Duration
	// Pid is the killed helper's process id.
	Pid int
	// Stderr is the tail of the helper's standard error.
	Stderr string
}

// Error implements error.
func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("process: task timed out after %v; helper pid %d killed", e.Timeout, e.Pid)
	if e.Stderr != "" {
		s += "; stderr tail:\n" + e.Stderr
	}
	return s
}

// Is reports whether target is context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

func stack() []byte { return debug.Stack() }

// infoOf describes err for the wire, in the helper.
func (reg *Registry) infoOf(err error) wire.ErrorInfo {
	var pe *executor.PanicError
	if errors.As(err, &pe) {
		info := wire.ErrorInfo{Type: fmt.Sprintf("%T", pe.Value), Message: fmt.Sprint(pe.Value), Stack: string(pe.Stack), Panic: true}
		if e, ok := pe.Value.(error); ok {
			info.Sentinel = reg.sentinelName(e)
		}
		return info
	}
	var re *RemoteError // an error that already crossed once: keep its data
	if errors.As(err, &re) && re == err {
		return wire.ErrorInfo{Type: re.Type, Message: re.Message, Stack: re.Stack, Sentinel: re.Sentinel, Temporary: re.temporary, Timeout: re.timeout}
	}
	info := wire.ErrorInfo{Type: fmt.Sprintf("%T", err), Message: err.Error(), Stack: string(stack()), Sentinel: reg.sentinelName(err)}
	var t interface{ Temporary() bool }
	info.Temporary = errors.As(err, &t) && t.Temporary()
	var to interface{ Timeout() bool }
	info.Timeout = errors.As(err, &to) && to.Timeout()
	return info
}

// errorOf rebuilds an error from the wire, in the host.
func (reg *Registry) errorOf(info wire.ErrorInfo) error {
	if info.IsZero() {
		return nil
	}
	var s error
	if info.Sentinel != "" {
		s = reg.sentinel(info.Sentinel)
	}
	if info.Panic {
		var v any = info.Message
		if s != nil {
			v = remoteError(info, s)
		}
		return &executor.PanicError{Value: v, Stack: []byte(info.Stack)}
	}
	return remoteError(info, s)
}

func remoteError(info wire.ErrorInfo, sentinel error) *RemoteError {
	return &RemoteError{Type: info.Type, Message: info.Message, Stack: info.Stack, Sentinel: info.Sentinel,
		sentinel: sentinel, temporary: info.Temporary, timeout: info.Timeout}
}
