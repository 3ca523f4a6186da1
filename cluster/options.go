package cluster

import (
	"crypto/tls"
	"fmt"
	"runtime"
	"time"

	"github.com/gofutures/gofutures/executor"
	"go.uber.org/zap"
)

// Option configures an Executor or a Worker. Options that concern only one
// of them say so and are ignored by the other.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Storage is where the JetStream stream keeps tasks.
type Storage int

// Storage kinds.
const (
	// FileStorage keeps tasks on disk: they survive a server restart (the
	// default).
	FileStorage Storage = iota
	// MemoryStorage keeps tasks in memory: faster, lost if the server stops.
	MemoryStorage
)

type config struct {
	name   string
	logger *zap.Logger
	hooks  *executor.Hooks

	// connection
	url      string // "" = embedded server
	token    string
	user     string
	password string
	nkeySeed string
	tls      *tls.Config

	// embedded server
	listen    string
	storeDir  string
	serverTLS *tls.Config

	// stream and consumer
	stream      string
	storage     Storage
	replicas    int
	ackWait     time.Duration
	maxBackOff  time.Duration
	maxAttempts int
	maxAckPend  int
	dupWindow   time.Duration

	// submitter
	workers        int
	workerProcs    int
	localHelpers   int // a worker's local process.Pool (WithLocalHelpers)
	pubAckTimeout  time.Duration
	requestTimeout time.Duration
	audit          time.Duration // tests: audit age instead of the back-off schedule

	// worker
	concurrency  int
	prefetch     int
	drainTimeout time.Duration
}

func defaultConfig() config {
	return config{
		name:           "cluster",
		logger:         zap.NewNop(),
		listen:         "127.0.0.1:0",
		stream:         "GOFUTURES",
		replicas:       1,
		ackWait:        5 * time.Second,
		maxBackOff:     time.Minute,
		maxAttempts:    3,
		maxAckPend:     20000,
		dupWindow:      2 * time.Minute,
		pubAckTimeout:  5 * time.Second,
		requestTimeout: 5 * time.Second,
		concurrency:    runtime.NumCPU(),
		prefetch:       256,
		drainTimeout:   10 * time.Second,
	}
}

func (c *config) validate() error {
	switch {
	case c.ackWait < 10*time.Millisecond:
		return fmt.Errorf("cluster: ack wait must be >= 10ms, got %v", c.ackWait)
	case c.maxAttempts < 1:
		return fmt.Errorf("cluster: max attempts must be >= 1, got %d", c.maxAttempts)
	case c.concurrency < 1:
		return fmt.Errorf("cluster: worker concurrency must be >= 1, got %d", c.concurrency)
	case c.prefetch < 0:
		return fmt.Errorf("cluster: prefetch must be >= 0, got %d", c.prefetch)
	case c.workers < 0 || c.workerProcs < 0 || c.localHelpers < 0:
		return fmt.Errorf("cluster: worker counts must be >= 0")
	case c.replicas < 1 || c.replicas > 5:
		return fmt.Errorf("cluster: replicas must be 1..5, got %d", c.replicas)
	case c.maxAckPend < 1:
		return fmt.Errorf("cluster: max ack pending must be >= 1, got %d", c.maxAckPend)
	case !validStreamName(c.stream):
		return fmt.Errorf("cluster: bad stream name %q (letters, digits, '-' and '_' only)", c.stream)
	}
	if c.workerProcs > 0 && (c.serverTLS != nil || c.tls != nil) {
		return fmt.Errorf("cluster: WithWorkerProcesses cannot be used with TLS (start TLS workers with NewWorker)")
	}
	n := 0
	for _, set := range []bool{c.token != "", c.user != "", c.nkeySeed != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("cluster: choose one of token, user/password and nkey")
	}
	return nil
}

func validStreamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// WithName names the executor or worker in logs and in its NATS connection
// name. Default "cluster".
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithLogger sets the logger. Default zap.NewNop().
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithHooks sets the hooks the executor calls (see executor.Hooks). Started
// is called when a worker starts the task, with the time it waited since
// Schedule; Finished gets the run time the worker measured. Executor only.
func WithHooks(h *executor.Hooks) Option { return optionFunc(func(c *config) { c.hooks = h }) }

// WithURL connects to an existing NATS server or cluster (comma-separated
// URLs, e.g. "nats://10.0.0.1:4222,nats://10.0.0.2:4222") with JetStream
// enabled, instead of starting an embedded server. Workers always need it.
func WithURL(url string) Option { return optionFunc(func(c *config) { c.url = url }) }

// WithToken authenticates with a token. For the embedded server it is also
// the token the server requires.
func WithToken(token string) Option { return optionFunc(func(c *config) { c.token = token }) }

// WithUserPassword authenticates with a user name and password. For the
// embedded server they are also what the server requires.
func WithUserPassword(user, password string) Option {
	return optionFunc(func(c *config) { c.user, c.password = user, password })
}

// WithNKeySeed authenticates with an NKey: seed is the user's seed
// ("SU..."), which signs the server's challenge; the seed never leaves the
// process. The embedded server admits the seed's public key.
func WithNKeySeed(seed string) Option { return optionFunc(func(c *config) { c.nkeySeed = seed }) }

// WithTLS makes the connection use TLS with cfg (root CAs, client
// certificate, server name).
func WithTLS(cfg *tls.Config) Option { return optionFunc(func(c *config) { c.tls = cfg }) }

// WithServerTLS makes the embedded server require TLS with cfg (its
// certificate; ClientCAs and ClientAuth for mutual TLS). Executor only.
func WithServerTLS(cfg *tls.Config) Option { return optionFunc(func(c *config) { c.serverTLS = cfg }) }

// WithListen sets the address the embedded server listens on for workers.
// Default "127.0.0.1:0": loopback, random port. Use "0.0.0.0:4222" (with
// credentials and TLS) to let workers on other machines join. Executor only.
func WithListen(addr string) Option { return optionFunc(func(c *config) { c.listen = addr }) }

// WithStoreDir sets the embedded server's JetStream directory. Default: a
// temporary directory removed at shutdown; set it to keep file-stored tasks
// across restarts. Executor only.
func WithStoreDir(dir string) Option { return optionFunc(func(c *config) { c.storeDir = dir }) }

// WithStorage chooses file (default) or memory storage for the task stream
// when the executor creates it. Executor only.
func WithStorage(s Storage) Option { return optionFunc(func(c *config) { c.storage = s }) }

// WithReplicas sets the number of replicas of the task stream in a NATS
// cluster (1..5, default 1; use 3 on a three-node cluster). Executor only.
func WithReplicas(n int) Option { return optionFunc(func(c *config) { c.replicas = n }) }

// WithStream sets the name of the JetStream stream; its subjects start with
// the same name, in lower case. Executors and workers of one cluster use the
// same name. Default "GOFUTURES".
func WithStream(name string) Option { return optionFunc(func(c *config) { c.stream = name }) }

// WithAckWait sets how long the server waits for a worker's
// acknowledgement before it gives the task to another worker. Workers send
// progress heartbeats every third of it while a task runs, so long tasks are
// not redelivered; a dead worker's tasks are redelivered after about this
// long. Default 5s. Executor only (it creates the consumer).
func WithAckWait(d time.Duration) Option { return optionFunc(func(c *config) { c.ackWait = d }) }

// WithMaxBackOff caps the back-off: the n-th redelivery of a task waits
// ackWait·2^(n-1), at most this long. Default 1 minute. Executor only.
func WithMaxBackOff(d time.Duration) Option { return optionFunc(func(c *config) { c.maxBackOff = d }) }

// WithMaxAttempts sets how many times a task is delivered to workers before
// its future fails with a *DeliveryError and its message is removed.
// Default 3. A task that returns an error is not retried: the error is its
// outcome. Executor only.
func WithMaxAttempts(n int) Option { return optionFunc(func(c *config) { c.maxAttempts = n }) }

// WithMaxAckPending bounds the tasks that all workers together hold
// (delivered, not yet acknowledged). Default 20000. Executor only.
func WithMaxAckPending(n int) Option { return optionFunc(func(c *config) { c.maxAckPend = n }) }

// WithWorkers sets what Executor.Workers reports: how many tasks the
// cluster runs at once, which package pool uses to size chunks. Default: the
// total concurrency of the worker processes the executor starts, or
// runtime.NumCPU(). Executor only.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithWorkerProcesses starts n worker processes of this program on this
// machine; the program must call ServeIfWorker at the start of main. For an
// Executor, they connect to its embedded server over loopback (or to
// WithURL); for a Worker, Run starts them instead of pulling tasks itself, so
// that one worker uses all cores in separate processes (a task that crashes
// its process loses nothing: it is redelivered). A process that dies is
// replaced; at shutdown they drain and exit (Stop kills them). Not with
// WithTLS or WithServerTLS: TLS settings do not cross the environment.
func WithWorkerProcesses(n int) Option { return optionFunc(func(c *config) { c.workerProcs = n }) }

// WithLocalHelpers makes a Worker run its tasks on a local process.Pool of n
// helper processes (this program again), so that one worker uses n cores
// and a task that crashes kills a helper, not the worker: such a task is
// redelivered. The worker's concurrency is raised to n if lower. The
// program's main must call process.ServeIfHelper(reg) before
// cluster.ServeIfWorker. Each task's ctx (the submitter's deadline, and
// its cancellation) is passed on to process.Pool.RunCall. Default 0: tasks
// run in the worker's goroutines. For a Worker only; the executor ignores it.
func WithLocalHelpers(n int) Option { return optionFunc(func(c *config) { c.localHelpers = n }) }

// WithPublishTimeout sets how long the executor waits for the server to
// confirm it stored a task before it publishes it again (de-duplicated by
// task id). Default 5s. Executor only.
func WithPublishTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.pubAckTimeout = d })
}

// WithConcurrency sets how many tasks a worker runs at once. Default
// runtime.NumCPU(). Worker only (and worker processes the executor starts).
func WithConcurrency(n int) Option { return optionFunc(func(c *config) { c.concurrency = n }) }

// WithPrefetch sets how many tasks a worker holds beyond those running, to
// hide network round trips. Raise it for many tiny tasks; set 0 for long
// tasks so that idle workers get them. Default 256. Worker only.
func WithPrefetch(n int) Option { return optionFunc(func(c *config) { c.prefetch = n }) }

// WithDrainTimeout sets how long a stopping worker lets its running tasks
// finish before it cancels them (they are then redelivered). Default 10s.
// Worker only.
func WithDrainTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.drainTimeout = d })
}
