package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/process"
)

// New starts a cluster executor for the functions registered in reg (the
// registry a process.Executor would use; workers must have the same one). Without
// WithURL it starts an embedded nats-server with JetStream, listening on the
// WithListen address (loopback by default) and requiring the credentials
// given (or a random token, see URL and WithWorkerProcesses). It creates or
// updates the task stream and the workers' consumer.
//
// New blocks until the server is ready; ctx bounds the start-up. While
// JetStream cannot answer yet (servers that just started or restarted, a
// cluster that has not elected its meta leader), New waits and tries again,
// logging at Info what it waits for; with a ctx that never ends it waits as
// long as that lasts. When ctx ends first, the error says what New waited for
// and wraps both context.Cause(ctx) and the last JetStream error. Errors that
// waiting does not cure fail at once: credentials the server refuses
// (ErrAuth), a permission refused, a stream that exists with a configuration
// that cannot be updated.
//
// New refuses to run in a process that an Executor started as its worker
// whose main did not call ServeIfWorker first (each such worker would start
// a cluster of its own). The Executor holds a connection, the embedded
// server and any worker processes until it is shut down: call Shutdown or
// Stop when done with it, typically with defer.
func New(ctx context.Context, reg *process.Registry, opts ...ExecutorOption) (*Executor, error) {
	if reg == nil {
		return nil, errors.New("cluster: nil registry")
	}
	if os.Getenv(EnvWorker) == "1" {
		err := fmt.Errorf("cluster: New called in a process started as a cluster worker (%s=1): call cluster.ServeIfWorker(reg) first in main, before anything else", EnvWorker)
		fmt.Fprintln(os.Stderr, err) // a worker's stderr is what its executor shows
		return nil, err
	}
	return newExecutor(ctx, newRegistryCodec(reg), opts)
}

// NewWorker returns a worker that runs the functions registered in reg.
// WithURL is required; credentials and TLS as the cluster needs them. It
// does not connect (Run does) and does not block; it fails only on bad
// options.
func NewWorker(reg *process.Registry, opts ...WorkerOption) (*Worker, error) {
	if reg == nil {
		return nil, errors.New("cluster: nil registry")
	}
	return newWorker(newRegistryCodec(reg), opts)
}

// registryCodec encodes calls and runs them with process's single-message
// call encoding (the Registry's EncodeCall, ServeCall and DecodeReply, from
// internal/remotecall),
// so errors keep their type name, message, stack and registered sentinel.
type registryCodec struct {
	reg   *process.Registry
	names atomic.Pointer[map[string]bool] // registered names, refreshed on a miss
}

func newRegistryCodec(reg *process.Registry) *registryCodec {
	c := &registryCodec{reg: reg}
	c.refresh()
	return c
}

func (c *registryCodec) refresh() {
	m := map[string]bool{}
	for _, n := range c.reg.Names() {
		m[n] = true
	}
	c.names.Store(&m)
}

func (c *registryCodec) encodeCall(r driver.Remote) ([]byte, error) {
	name := r.FuncName()
	if !(*c.names.Load())[name] {
		c.refresh() // registered after New
		if !(*c.names.Load())[name] {
			return nil, fmt.Errorf("cluster: %w: %w: %q", executor.ErrNotRemote, process.ErrNotRegistered, name)
		}
	}
	return c.reg.EncodeCall(r)
}

func (c *registryCodec) finish(r driver.Remote, result []byte) error {
	cr := &capture{Remote: r}
	if err := c.reg.DecodeReply(result, cr); err != nil {
		r.Finish(err, nil)
		return err
	}
	return cr.err
}

func (c *registryCodec) runCall(ctx context.Context, call []byte) ([]byte, error) {
	return c.reg.ServeCall(ctx, call)
}

// capture records the error a Remote finished with, for hooks.
type capture struct {
	driver.Remote
	err error
}

func (c *capture) Finish(err error, items []error) {
	c.err = err
	if err == nil {
		for _, e := range items {
			if e != nil {
				c.err = e
				break
			}
		}
	}
	c.Remote.Finish(err, items)
}
