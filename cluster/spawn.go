package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/gofutures/gofutures/process"
)

// Environment of a worker process. ServeIfWorker reads it; a worker on
// another machine can be started with the same variables.
const (
	EnvWorker      = "GOFUTURES_CLUSTER_WORKER"      // "1": this process is a worker
	EnvURL         = "GOFUTURES_CLUSTER_URL"         // server URL(s)
	EnvToken       = "GOFUTURES_CLUSTER_TOKEN"       // token
	EnvUser        = "GOFUTURES_CLUSTER_USER"        // user name (with EnvPassword)
	EnvPassword    = "GOFUTURES_CLUSTER_PASSWORD"    // password
	EnvNKeySeed    = "GOFUTURES_CLUSTER_NKEY_SEED"   // nkey seed
	EnvStream      = "GOFUTURES_CLUSTER_STREAM"      // stream name
	EnvConcurrency = "GOFUTURES_CLUSTER_CONCURRENCY" // tasks at once
	EnvPrefetch    = "GOFUTURES_CLUSTER_PREFETCH"    // tasks held beyond those running
	EnvProcesses   = "GOFUTURES_CLUSTER_PROCESSES"   // run this many worker processes (WithWorkerProcesses)
	EnvHelpers     = "GOFUTURES_CLUSTER_HELPERS"     // run tasks on this many local helpers (WithLocalHelpers)
	envStdin       = "GOFUTURES_CLUSTER_STDIN"       // "1": stop when stdin closes (set by the executor)
)

var envVars = []string{EnvWorker, EnvURL, EnvToken, EnvUser, EnvPassword, EnvNKeySeed, EnvStream, EnvConcurrency, EnvPrefetch, EnvProcesses, EnvHelpers, envStdin}

// ServeIfWorker turns a process whose environment has
// GOFUTURES_CLUSTER_WORKER=1 into a cluster worker: it runs tasks with the
// functions of reg until SIGINT or SIGTERM (or, for a worker an Executor
// started, until the executor closes its standard input), drains, and exits
// the process; then it never returns. In any other process it returns at
// once. Call it at the top of main (and of TestMain in tests), next to
// process.ServeIfHelper. opts come first; the environment (EnvURL, EnvToken
// and the other Env variables) overrides them. A worker that the server
// refuses prints why on standard error and exits with status 1.
func ServeIfWorker(reg *process.Registry, opts ...Option) {
	if os.Getenv(EnvWorker) != "1" {
		return
	}
	os.Exit(serveWorkerMain(reg, opts))
}

func serveWorkerMain(reg *process.Registry, opts []Option) int {
	env := map[string]string{}
	for _, k := range envVars {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
			_ = os.Unsetenv(k) // programs that tasks start are not workers, nor see secrets
		}
	}
	opts = append(opts, WithURL(env[EnvURL]))
	switch {
	case env[EnvToken] != "":
		opts = append(opts, WithToken(env[EnvToken]))
	case env[EnvUser] != "":
		opts = append(opts, WithUserPassword(env[EnvUser], env[EnvPassword]))
	case env[EnvNKeySeed] != "":
		opts = append(opts, WithNKeySeed(env[EnvNKeySeed]))
	}
	if v := env[EnvStream]; v != "" {
		opts = append(opts, WithStream(v))
	}
	for _, kv := range []struct {
		key string
		opt func(int) Option
	}{{EnvConcurrency, WithConcurrency}, {EnvPrefetch, WithPrefetch}, {EnvProcesses, WithWorkerProcesses}, {EnvHelpers, WithLocalHelpers}} {
		if v := env[kv.key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				fmt.Fprintf(os.Stderr, "gofutures cluster worker: bad %s=%q\n", kv.key, v)
				return 2
			}
			opts = append(opts, kv.opt(n))
		}
	}
	w, err := NewWorker(reg, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofutures cluster worker pid %d: %v\n", os.Getpid(), err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if env[envStdin] == "1" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	if err := w.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "gofutures cluster worker pid %d: %v\n", os.Getpid(), err)
		return 1
	}
	return 0
}
