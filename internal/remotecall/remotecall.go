// Package remotecall is how package cluster encodes, runs and decodes the
// calls of a process.Registry as single messages, and runs them on a
// process.Executor's helpers, without package process exporting that
// plumbing to its users: a process.Registry embeds a Codec and a
// process.Executor a Runner, in unexported fields, so that these methods are
// promoted to them (and hidden from their documentation).
package remotecall

import (
	"context"
	"fmt"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
)

// Codec encodes a call as one self-contained message, runs such a message,
// and decodes the reply. process.NewRegistry makes each Registry's.
type Codec struct {
	encode func(r driver.Remote) ([]byte, error)
	serve  func(ctx context.Context, call []byte) ([]byte, error)
	decode func(reply []byte, r driver.Remote) error
}

// NewCodec returns a Codec of the three functions.
func NewCodec(encode func(driver.Remote) ([]byte, error), serve func(context.Context, []byte) ([]byte, error), decode func([]byte, driver.Remote) error) Codec {
	return Codec{encode: encode, serve: serve, decode: decode}
}

// EncodeCall encodes the call r describes (its function's name, whether it
// is a chunk, and its arguments) as one message, for ServeCall on the
// worker's side. It does not block; it fails with an error wrapping
// process.ErrEncode if the arguments cannot be encoded. Each message carries
// its gob type information, so it costs more than a call on an Executor's
// stream.
func (c *Codec) EncodeCall(r driver.Remote) ([]byte, error) { return c.encode(r) }

// ServeCall runs one call message made by EncodeCall, in the calling
// goroutine, and returns the reply message for DecodeReply. The task's own
// failures (its error, a panic, arguments or a result that cannot be
// decoded or encoded, an unknown function) are in the reply; it returns an
// error wrapping the wire's ErrProtocol only if call is malformed. It blocks
// while the function runs, passing it ctx. Safe for concurrent use.
func (c *Codec) ServeCall(ctx context.Context, call []byte) ([]byte, error) {
	return c.serve(ctx, call)
}

// DecodeReply decodes a reply message made by ServeCall into r.Result()
// and completes r with r.Finish. A task's error arrives as a
// *process.RemoteError (or an *executor.PanicError for a panic) that
// unwraps to the sentinel registered under the same name; a result that
// cannot be decoded fails the task with an error wrapping
// process.ErrEncode. If reply is malformed, it returns an error wrapping the
// wire's ErrProtocol and does not call Finish. It does not block.
func (c *Codec) DecodeReply(reply []byte, r driver.Remote) error { return c.decode(reply, r) }

// Runner runs call messages on a process.Executor's helpers. process.New
// makes each Executor's.
type Runner struct {
	run func(ctx context.Context, call []byte) ([]byte, error)
}

// NewRunner returns a Runner of run.
func NewRunner(run func(context.Context, []byte) ([]byte, error)) Runner { return Runner{run: run} }

// RunCall runs a call made by EncodeCall in one of the executor's helpers
// and returns the reply as ServeCall makes it (for DecodeReply): the
// function's value, or its error, which is part of the reply. err is
// non-nil only when the call could not be run there: the helper died
// (*process.WorkerError), overran the task timeout (*process.TimeoutError),
// the call could not be decoded, the executor refused it, or ctx ended. It
// blocks until then. It lets a cluster worker run the calls it receives on
// local helper processes, so one worker uses every core.
func (r *Runner) RunCall(ctx context.Context, call []byte) ([]byte, error) { return r.run(ctx, call) }

// RemoteOf begins the Schedule of an executor that runs tasks in other
// processes: it panics on a nil ctx, as every Schedule does, and returns
// t's Remote form, or, for a Go closure or a function wrapped by
// executor.Fn, an error wrapping executor.ErrNotRemote. pkg prefixes both
// messages.
func RemoteOf(pkg string, ctx context.Context, t driver.Task) (driver.Remote, error) {
	if ctx == nil {
		panic(pkg + ": nil Context")
	}
	r := t.Remote()
	if r == nil {
		return nil, fmt.Errorf("%s: %w", pkg, executor.ErrNotRemote)
	}
	return r, nil
}
