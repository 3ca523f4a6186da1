package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/process"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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

	// EnvDrainTimeout is the worker's drain timeout (WithDrainTimeout), a
	// Go duration such as "500ms" or "1m". An Executor passes its own to
	// the worker processes it starts.
	EnvDrainTimeout = "GOFUTURES_CLUSTER_DRAIN_TIMEOUT"

	// EnvLog turns the worker's log on: debug, info, warn or error, the
	// lowest level written. The log goes to standard error (zap's console
	// encoding, ISO 8601 times, with the pid) and replaces a WithLogger
	// option. An Executor whose logger is enabled passes its lowest enabled
	// level to the worker processes it starts, unless its own environment
	// sets EnvLog (which they then inherit).
	EnvLog = "GOFUTURES_CLUSTER_LOG"

	envStdin = "GOFUTURES_CLUSTER_STDIN"  // "1": stop when stdin closes (set by the executor)
	envGroup = "GOFUTURES_CLUSTER_PGROUP" // "1": leads a process group of its own (set by the executor); kill it at exit
)

var envVars = []string{EnvWorker, EnvURL, EnvToken, EnvUser, EnvPassword, EnvNKeySeed, EnvStream, EnvConcurrency,
	EnvPrefetch, EnvProcesses, EnvHelpers, EnvDrainTimeout, EnvLog, envStdin, envGroup}

// exitLimit is how long after its stop (signal or closed stdin) a worker
// process waits beyond its drain timeout for Worker.Run to return before it
// exits anyway. It exceeds the grace an Executor gives its worker processes
// (drain timeout + 5s) before it kills them.
const exitLimit = 10 * time.Second

// ServeIfWorker turns a process whose environment has
// GOFUTURES_CLUSTER_WORKER=1 into a cluster worker: it runs tasks with the
// functions of reg until SIGINT or SIGTERM (or, for a worker an Executor
// started, until the executor closes its standard input, or dies), drains,
// and exits the process; then it never returns. In any other process it
// returns at once. Call it at the top of main (and of TestMain in tests),
// next to process.ServeIfHelper. opts come first; the environment (EnvURL,
// EnvToken and the other Env variables) overrides them. A worker that the
// server refuses prints why on standard error and exits with status 1; a
// malformed variable makes it exit with status 2.
//
// A worker process that an Executor started leads a process group of its
// own: when it exits it kills (SIGKILL) what is left of the group, the
// processes its tasks started, so that none outlives it. If Worker.Run has
// not returned 10s after the drain timeout, it exits anyway.
func ServeIfWorker(reg *process.Registry, opts ...WorkerOption) {
	if os.Getenv(EnvWorker) != "1" {
		return
	}
	os.Exit(serveWorkerMain(reg, opts))
}

func serveWorkerMain(reg *process.Registry, opts []WorkerOption) int {
	env := map[string]string{}
	for _, k := range envVars {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
			_ = os.Unsetenv(k) // programs that tasks start are not workers, nor see secrets
		}
	}
	bad := func(k, want string) int {
		fmt.Fprintf(os.Stderr, "gofutures cluster worker: bad %s=%q%s\n", k, env[k], want)
		return 2
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
		opt func(int) WorkerOption
	}{{EnvConcurrency, workerInt(WithConcurrency)}, {EnvPrefetch, workerInt(WithPrefetch)},
		{EnvProcesses, workerInt(WithWorkerProcesses)}, {EnvHelpers, workerInt(WithLocalHelpers)}} {
		if v := env[kv.key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return bad(kv.key, "")
			}
			opts = append(opts, kv.opt(n))
		}
	}
	if v := env[EnvDrainTimeout]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return bad(EnvDrainTimeout, ` (want a duration such as "10s")`)
		}
		opts = append(opts, WithDrainTimeout(d))
	}
	if v := env[EnvLog]; v != "" {
		lvl, ok := logLevel(v)
		if !ok {
			return bad(EnvLog, " (want debug, info, warn or error)")
		}
		log := stderrLogger(lvl)
		defer func() { _ = log.Sync() }()
		opts = append(opts, WithLogger(log))
	}
	w, err := NewWorker(reg, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofutures cluster worker pid %d: %v\n", os.Getpid(), err)
		return 2
	}
	if env[envGroup] == "1" {
		defer killGroup()
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
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	select {
	case err = <-ran:
	case <-ctx.Done():
		limit := time.NewTimer(w.cfg.drainTimeout + exitLimit)
		defer limit.Stop()
		select {
		case err = <-ran:
		case <-limit.C:
			w.log.Error("worker did not stop in time; exiting", zap.Duration("after", w.cfg.drainTimeout+exitLimit))
			fmt.Fprintf(os.Stderr, "gofutures cluster worker pid %d: did not stop within %v after being told to; exiting\n",
				os.Getpid(), w.cfg.drainTimeout+exitLimit)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofutures cluster worker pid %d: %v\n", os.Getpid(), err)
		return 1
	}
	return 0
}

// logLevel parses the value of EnvLog.
func logLevel(s string) (zapcore.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return zapcore.DebugLevel, true
	case "info":
		return zapcore.InfoLevel, true
	case "warn":
		return zapcore.WarnLevel, true
	case "error":
		return zapcore.ErrorLevel, true
	}
	return 0, false
}

// stderrLogger is the log of a worker process with EnvLog: lines on
// standard error from lvl up, with the pid.
func stderrLogger(lvl zapcore.Level) *zap.Logger {
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.EncodeLevel = zapcore.CapitalLevelEncoder
	ec.EncodeDuration = zapcore.StringDurationEncoder
	errOut := zapcore.Lock(os.Stderr)
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(ec), errOut, lvl), zap.ErrorOutput(errOut)).
		With(zap.Int("pid", os.Getpid()))
}

// killGroup kills (SIGKILL) the other processes of this process's group if
// it leads one: those that its tasks started and left behind. Processes
// that a victim forked before it died are found by the next scan; a scan
// that finds nothing new ends it.
func killGroup() {
	self := os.Getpid()
	if syscall.Getpgrp() != self {
		return
	}
	killed := map[int]bool{}
	for range 100 { // a bound, against a group that forks faster than it dies
		fresh := false
		for _, pid := range groupMembers(self) {
			if pid != self && !killed[pid] {
				killed[pid] = true
				fresh = true
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !fresh {
			return
		}
	}
}

// groupMembers returns the live (not zombie) processes of process group
// pgid, from /proc.
func groupMembers(pgid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var pids []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(st), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}
