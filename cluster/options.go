package cluster

import (
	"crypto/tls"
	"fmt"
	"runtime"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/nats-io/nkeys"
	"go.uber.org/zap"
)

// ExecutorOption configures an Executor: New takes them. The options that
// return an ExecutorOption act on the executor only (its embedded server, the
// task stream and its consumer, publishing); those that return an Option act
// on both an Executor and a Worker.
type ExecutorOption interface {
	applyExecutor(*config)
}

// WorkerOption configures a Worker: NewWorker and ServeIfWorker take them.
// The options that return a WorkerOption act on a worker only; those that
// return an Option act on both an Executor and a Worker.
type WorkerOption interface {
	applyWorker(*config)
}

// Option configures an Executor or a Worker, whichever it is given to: it is
// both an ExecutorOption and a WorkerOption. The connection (WithURL, the
// credentials, WithTLS), the stream name and logging are such options, and
// so are those that a worker uses and that an Executor passes on to the
// worker processes it starts (WithWorkerProcesses).
type Option interface {
	ExecutorOption
	WorkerOption
}

// optionFunc is an Option; executorOptionFunc and workerOptionFunc are the
// options of one side only.
type (
	optionFunc         func(*config)
	executorOptionFunc func(*config)
	workerOptionFunc   func(*config)
)

func (f optionFunc) applyExecutor(c *config)         { f(c) }
func (f optionFunc) applyWorker(c *config)           { f(c) }
func (f executorOptionFunc) applyExecutor(c *config) { f(c) }
func (f workerOptionFunc) applyWorker(c *config)     { f(c) }

// workerInt adapts an option constructor taking an int (an Option or a
// WorkerOption) to one returning a WorkerOption, for tables of them.
func workerInt[O WorkerOption](f func(int) O) func(int) WorkerOption {
	return func(n int) WorkerOption { return f(n) }
}

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
	localHelpers   int // a worker's local process.Executor (WithLocalHelpers)
	pubAckTimeout  time.Duration
	requestTimeout time.Duration
	audit          time.Duration // tests: audit age instead of the back-off schedule

	// worker
	concurrency  int
	prefetch     int
	drainTimeout time.Duration
	workerTuned  bool // one of the three above was set

	restorer driver.Restorer // WithRestorer
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
	case c.drainTimeout <= 0:
		return fmt.Errorf("cluster: drain timeout must be > 0, got %v", c.drainTimeout)
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
	if c.nkeySeed != "" {
		if err := checkUserSeed(c.nkeySeed); err != nil {
			return err
		}
	}
	return nil
}

// checkUserSeed reports whether seed is an NKey user seed, which both sides
// need: the client signs with it, the embedded server admits its public key.
func checkUserSeed(seed string) error {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return fmt.Errorf("cluster: bad nkey seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return fmt.Errorf("cluster: bad nkey seed: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return fmt.Errorf("cluster: bad nkey seed: not a user seed (SU...), its public key is %s", pub)
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

// WithName names the executor or worker in its logs and in the name of its
// NATS connections (with "-submitter" or "-worker" appended), which the
// server's monitoring shows. Default "cluster" for an Executor, "worker" for
// a Worker.
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithLogger sets the logger; nil keeps the default, zap.NewNop().
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithHooks sets the hooks the executor calls (see executor.Hooks). Started
// is called when a worker starts the task, with the time it waited since
// Schedule; Finished gets the run time the worker measured. With
// WithWorkerProcesses, WorkerStarted and WorkerStopped report the worker
// processes.
func WithHooks(h *executor.Hooks) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.hooks = h })
}

// WithURL sets the NATS server or cluster to connect to: one URL or several,
// comma-separated (e.g. "nats://10.0.0.1:4222,nats://10.0.0.2:4222"), with
// JetStream enabled. An Executor without it starts an embedded server
// instead; a Worker needs it (NewWorker fails without it).
func WithURL(url string) Option { return optionFunc(func(c *config) { c.url = url }) }

// WithToken authenticates with a token. An Executor's embedded server also
// requires it of everyone who connects. Use only one of WithToken,
// WithUserPassword and WithNKeySeed.
func WithToken(token string) Option { return optionFunc(func(c *config) { c.token = token }) }

// WithUserPassword authenticates with a user name and password. An
// Executor's embedded server also requires them of everyone who connects.
func WithUserPassword(user, password string) Option {
	return optionFunc(func(c *config) { c.user, c.password = user, password })
}

// WithNKeySeed authenticates with an NKey: seed is the user's seed
// ("SU..."), which signs the server's challenge; the seed never leaves the
// process. An Executor's embedded server admits the seed's public key. New
// and NewWorker fail at once if seed is not a user seed.
func WithNKeySeed(seed string) Option { return optionFunc(func(c *config) { c.nkeySeed = seed }) }

// WithTLS makes the connection use TLS with cfg (root CAs, client
// certificate, server name). A server whose certificate does not verify, or
// that refuses the client's, makes New or Worker.Run fail with ErrAuth.
func WithTLS(cfg *tls.Config) Option { return optionFunc(func(c *config) { c.tls = cfg }) }

// WithServerTLS makes the embedded server require TLS with cfg (its
// certificate; ClientCAs and ClientAuth for mutual TLS). The executor's own
// connection needs WithTLS too. Without WithURL only.
func WithServerTLS(cfg *tls.Config) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.serverTLS = cfg })
}

// WithListen sets the address the embedded server listens on for workers.
// Default "127.0.0.1:0": loopback, random port (Executor.URL reports it).
// Use "0.0.0.0:4222" (with credentials and TLS) to let workers on other
// machines join. Without WithURL only.
func WithListen(addr string) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.listen = addr })
}

// WithStoreDir sets the embedded server's JetStream directory. Default: a
// temporary directory removed at shutdown; set it to keep file-stored tasks
// across restarts. Without WithURL only.
func WithStoreDir(dir string) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.storeDir = dir })
}

// WithStorage chooses file (default) or memory storage for the task stream
// that New creates or updates.
func WithStorage(s Storage) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.storage = s })
}

// WithReplicas sets the number of replicas of the task stream in a NATS
// cluster (1..5, default 1; use 3 on a three-node cluster). New waits, within
// its ctx, until enough servers are up to place them.
func WithReplicas(n int) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.replicas = n })
}

// WithStream sets the name of the JetStream stream; its subjects start with
// the same name, in lower case. The executors and workers of one cluster must
// use the same name. Default "GOFUTURES".
func WithStream(name string) Option { return optionFunc(func(c *config) { c.stream = name }) }

// WithAckWait sets how long the server waits for a worker's
// acknowledgement before it gives the task to another worker; New sets it on
// the workers' consumer, and workers read it from there. Workers send
// progress heartbeats every third of it while a task runs, so long tasks are
// not redelivered; a dead worker's tasks are redelivered after about this
// long. Default 5s, at least 10ms.
func WithAckWait(d time.Duration) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.ackWait = d })
}

// WithMaxBackOff caps the back-off: the n-th redelivery of a task waits
// ackWait·2^(n-1), at most this long. Default 1 minute.
func WithMaxBackOff(d time.Duration) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.maxBackOff = d })
}

// WithMaxAttempts sets how many deliveries may start a task before its
// future fails with a *DeliveryError and its message is removed: a task
// whose workers die (or lose their connection) while it runs runs at most
// this many times. Deliveries that never started it (its worker died or
// drained while the task waited there) do not count. Default 3. A task that
// returns an error is not retried: the error is its outcome.
func WithMaxAttempts(n int) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.maxAttempts = n })
}

// WithMaxAckPending bounds the tasks that all workers together hold
// (delivered, not yet acknowledged). Default 20000.
func WithMaxAckPending(n int) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.maxAckPend = n })
}

// WithWorkersHint sets what Executor.Workers reports while no worker is
// connected; package pool uses it to size chunks. Once workers announce
// themselves, Workers reports their total concurrency (not counting
// draining workers) instead. Default: the total concurrency of the worker
// processes the executor starts, or runtime.NumCPU().
func WithWorkersHint(n int) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.workers = n })
}

// WithWorkerProcesses starts n worker processes of this program on this
// machine; the program must call ServeIfWorker at the start of main. An
// Executor's processes connect to its embedded server over loopback (or to
// WithURL) with its credentials; a Worker's Run starts them instead of
// pulling tasks itself, so that one worker uses all cores in separate
// processes (a task that crashes its process loses nothing: it is
// redelivered). Each process gets the credentials, the stream name,
// WithConcurrency, WithPrefetch, WithDrainTimeout and the level of
// WithLogger. A process that dies is replaced; at shutdown they drain and
// exit (Stop kills them). Not with WithTLS or WithServerTLS: TLS settings do
// not cross the environment.
func WithWorkerProcesses(n int) Option { return optionFunc(func(c *config) { c.workerProcs = n }) }

// WithLocalHelpers makes a Worker run its tasks on a local process.Executor of n
// helper processes (this program again), so that one worker uses n cores
// and a task that crashes kills a helper, not the worker: such a task is
// redelivered. The worker's concurrency is raised to n if lower. The
// program's main must call process.ServeIfHelper(reg) before
// cluster.ServeIfWorker. Each task's ctx (the submitter's deadline, and
// its cancellation) is passed on to the helper that runs it. Default 0: tasks
// run in the worker's goroutines.
func WithLocalHelpers(n int) WorkerOption {
	return workerOptionFunc(func(c *config) { c.localHelpers = n })
}

// WithPublishTimeout sets how long the executor waits for the server to
// confirm it stored a task before it publishes it again (de-duplicated by
// task id). Default 5s.
func WithPublishTimeout(d time.Duration) ExecutorOption {
	return executorOptionFunc(func(c *config) { c.pubAckTimeout = d })
}

// WithConcurrency sets how many tasks a worker runs at once. Default
// runtime.NumCPU(). Given to a Worker, it is that worker's; given to an
// Executor, it is that of each worker process it starts (WithWorkerProcesses;
// without them it has no effect), and the default of WithWorkersHint is the
// processes times this.
func WithConcurrency(n int) Option {
	return optionFunc(func(c *config) { c.concurrency, c.workerTuned = n, true })
}

// WithPrefetch caps the tasks a worker holds beyond those it runs. A worker
// holds only what it can start soon: beyond its runners, the tasks they
// finish in about two start round trips (at least 1 ms) by the run times it
// measured, so long tasks wait in the stream for any worker that is free and
// tiny ones travel in batches. Set 0 to never hold a task that no runner is
// free for. Default 256. Given to an Executor, it
// is that of each worker process it starts (WithWorkerProcesses; without them
// it has no effect).
func WithPrefetch(n int) Option {
	return optionFunc(func(c *config) { c.prefetch, c.workerTuned = n, true })
}

// WithDrainTimeout sets how long a stopping worker lets its running tasks
// finish before it cancels their ctx; they are then redelivered, and a
// second later the worker stops waiting for those that ignore it (see
// Worker.Run). Default 10s.
// Given to an Executor (or to a Worker with WithWorkerProcesses), it is that
// of each worker process it starts, and a process that has not exited this
// plus a margin after it was asked to stop is killed.
func WithDrainTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.drainTimeout, c.workerTuned = d, true })
}

// WithRestorer makes a worker give the context metadata that comes with a
// task (sent by a task whose Remote is a driver.Carrier, such as those of
// an executor wrapped by package otelfutures, in Gofutures-Ctx-* headers) to
// r, which restores it into the ctx the task runs with: so a trace continues
// on the worker. Without it the headers are ignored. Default none; it costs
// nothing for tasks that carry no metadata.
func WithRestorer(r driver.Restorer) WorkerOption {
	return workerOptionFunc(func(c *config) { c.restorer = r })
}
