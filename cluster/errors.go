package cluster

import (
	"errors"
	"fmt"

	"github.com/gofutures/gofutures/executor"
)

// Sentinel errors of this package. Test with errors.Is; the errors returned
// wrap them with detail.
var (
	// ErrDeliveryLimit: a task was delivered to workers as many times as
	// allowed (WithMaxAttempts) without finishing; its message was removed
	// from the stream. The error is a *DeliveryError.
	ErrDeliveryLimit = errors.New("cluster: delivery limit reached")
	// ErrAuth: the NATS server refused the credentials (or the TLS handshake).
	ErrAuth = errors.New("cluster: refused by the server")
	// ErrTooLarge: an encoded task or result does not fit in one message
	// (the server's maximum payload). Only that task fails.
	ErrTooLarge = errors.New("cluster: message too large")
)

// DeliveryError is the error of a task whose deliveries all failed: each
// worker that started it died, lost its connection or could not run it
// (WithMaxAttempts of them), or, when its submitter could not be reached,
// the server gave up delivering it. It matches ErrDeliveryLimit and,
// through Last, usually executor.ErrWorkerDied.
type DeliveryError struct {
	// Attempts is the number of deliveries that started the task.
	Attempts int
	// Last is the last failure, as the last worker reported it; when the
	// worker vanished it matches executor.ErrWorkerDied.
	Last error
}

// Error implements error.
func (e *DeliveryError) Error() string {
	return fmt.Sprintf("cluster: task failed on all %d deliveries (delivery limit reached; message removed): %v", e.Attempts, e.Last)
}

// Is reports whether target is ErrDeliveryLimit.
func (e *DeliveryError) Is(target error) bool { return target == ErrDeliveryLimit }

// Unwrap returns Last.
func (e *DeliveryError) Unwrap() error { return e.Last }

// lostError is the last failure of a task whose worker vanished (died or
// disconnected) without reporting anything: the server redelivered it after
// its ack wait.
type lostError struct{ msg string }

func (e *lostError) Error() string        { return e.msg }
func (e *lostError) Is(target error) bool { return target == executor.ErrWorkerDied }

// workerFailure rebuilds the last failure text sent by a worker.
func workerFailure(msg string) error {
	if msg == "" {
		msg = "worker stopped acknowledging the task (it died or lost its connection)"
	}
	return &lostError{msg: msg}
}
