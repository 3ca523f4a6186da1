package cluster

import (
	"context"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/process"
)

// codec turns remote tasks into task messages and results back into
// outcomes, on the submitter. The process package's call encoding
// implements it.
type codec interface {
	// encodeCall encodes r's function name and arguments. An unregistered
	// function fails with an error wrapping executor.ErrNotRemote.
	encodeCall(r driver.Remote) ([]byte, error)
	// finish decodes an encoded result into r, calls r.Finish and returns
	// the error the task finished with (nil on success).
	finish(r driver.Remote, result []byte) error
}

// runner runs encoded calls, on a worker.
type runner interface {
	// runCall decodes call, runs it and returns the encoded result, which
	// holds the function's value or error (a task error is a result). err is
	// non-nil only when the call could not be run or its outcome not be
	// encoded by this worker: a process-pool helper died, for instance.
	// Such failures are retried on another delivery.
	runCall(ctx context.Context, call []byte) (result []byte, err error)
}

// helperRunner runs calls on a local process pool (WithLocalHelpers). A
// helper that dies or overruns fails the call with an error, so the task is
// redelivered.
type helperRunner struct{ pool *process.Executor }

func (h helperRunner) runCall(ctx context.Context, call []byte) ([]byte, error) {
	return h.pool.RunCall(ctx, call)
}
