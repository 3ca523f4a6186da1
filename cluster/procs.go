package cluster

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/internal/spawn"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// procs are the worker processes an Executor started (WithWorkerProcesses),
// or a Worker that supervises processes: this program re-executed,
// connecting to the cluster's server. One that dies is replaced (its task is
// redelivered by the server); at shutdown their standard input is closed,
// which makes them drain and exit, and a hard stop kills them.
//
// Each process leads a process group of its own and has SIGTERM as its
// parent-death signal: if this process dies, even by SIGKILL, the workers
// drain, kill what their tasks started (the rest of their group, see
// killGroup) and exit. Whenever a worker process is reaped, what is left
// of its group is killed here as well.
type procs struct {
	log   *zap.Logger
	hooks *executor.Hooks
	exe   string
	env   []string
	grace time.Duration
	sp    *spawn.Spawner

	mu       sync.Mutex
	stopping bool
	stopCh   chan struct{}
	cur      []*workerProc // the live process of each slot
	all      []*exec.Cmd   // every process started, for tests
	wg       sync.WaitGroup
	closeSp  sync.Once
}

type workerProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	log    *zap.Logger // with its slot and pid
	at     time.Time
	done   chan struct{}
	state  *os.ProcessState
	killed atomic.Bool // by stop
}

func startProcs(cfg *config, url string, log *zap.Logger) (*procs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cluster: cannot start worker processes: %w", err)
	}
	ps := &procs{log: log, hooks: cfg.hooks, exe: exe, env: workerEnv(cfg, url), grace: cfg.drainTimeout + 5*time.Second,
		sp: spawn.New(), stopCh: make(chan struct{}), cur: make([]*workerProc, cfg.workerProcs)}
	for i := range cfg.workerProcs {
		p, err := ps.spawn(i)
		if err != nil {
			ps.stop(true)
			return nil, err
		}
		ps.wg.Add(1)
		go ps.keep(i, p)
	}
	return ps, nil
}

// workerEnv is the environment of the worker processes of cfg: this
// process's, and the settings of cfg. The log level of cfg's logger (its
// lowest enabled level) is passed on, unless this process's environment
// sets EnvLog itself.
func workerEnv(cfg *config, url string) []string {
	env := append(os.Environ(),
		EnvWorker+"=1", EnvURL+"="+url, EnvStream+"="+cfg.stream, envStdin+"=1", envGroup+"=1",
		EnvConcurrency+"="+strconv.Itoa(cfg.concurrency), EnvPrefetch+"="+strconv.Itoa(cfg.prefetch),
		EnvDrainTimeout+"="+cfg.drainTimeout.String())
	if cfg.localHelpers > 0 { // a Worker's processes (Worker.supervise) run local helpers each
		env = append(env, EnvHelpers+"="+strconv.Itoa(cfg.localHelpers))
	}
	switch {
	case cfg.token != "":
		env = append(env, EnvToken+"="+cfg.token)
	case cfg.user != "":
		env = append(env, EnvUser+"="+cfg.user, EnvPassword+"="+cfg.password)
	case cfg.nkeySeed != "":
		env = append(env, EnvNKeySeed+"="+cfg.nkeySeed)
	}
	if _, set := os.LookupEnv(EnvLog); !set {
		for _, l := range []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel} {
			if cfg.logger.Core().Enabled(l) {
				env = append(env, EnvLog+"="+l.String())
				break
			}
		}
	}
	return env
}

// spawn starts the process of a slot, unless stopping.
func (ps *procs) spawn(slot int) (*workerProc, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.stopping {
		return nil, nil
	}
	cmd := exec.Command(ps.exe, os.Args[1:]...)
	cmd.Env = ps.env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// SIGTERM when this process dies: the worker drains, kills the rest
	// of its group (the processes its tasks started) and exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	in, err := cmd.StdinPipe()
	if err == nil {
		err = ps.sp.Start(cmd)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: start worker process (slot %d): %w", slot, err)
	}
	pid := cmd.Process.Pid
	p := &workerProc{cmd: cmd, in: in, log: ps.log.With(zap.Int("slot", slot), zap.Int("pid", pid)),
		at: time.Now(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		// What is left of its process group: what its tasks started, if
		// it did not kill them itself (it crashed, or was killed).
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		close(p.done)
	}()
	ps.cur[slot] = p
	ps.all = append(ps.all, cmd)
	ps.hooks.OnWorkerStarted()
	p.log.Info("worker process started")
	return p, nil
}

// keep replaces the process of a slot when it dies, until stop.
func (ps *procs) keep(slot int, p *workerProc) {
	defer ps.wg.Done()
	pause := 100 * time.Millisecond
	for p != nil {
		<-p.done
		ps.mu.Lock()
		stopping := ps.stopping
		ps.mu.Unlock()
		if stopping {
			ps.hooks.OnWorkerStopped(executor.ExitShutdown)
			if p.state.Success() || p.killed.Load() {
				p.log.Info("worker process exited", zap.Stringer("status", p.state))
			} else {
				p.log.Warn("worker process exited abnormally while stopping", zap.Stringer("status", p.state))
			}
			return
		}
		ps.hooks.OnWorkerStopped(executor.ExitCrashed)
		p.log.Warn("worker process exited unexpectedly; starting another", zap.Stringer("status", p.state),
			zap.Duration("uptime", time.Since(p.at)))
		if time.Since(p.at) > 10*time.Second {
			pause = 100 * time.Millisecond
		}
		for {
			t := time.NewTimer(pause)
			select {
			case <-ps.stopCh:
				t.Stop()
				return
			case <-t.C:
			}
			pause = min(2*pause, 5*time.Second)
			np, err := ps.spawn(slot)
			if err == nil {
				p = np // nil if stopping
				break
			}
			ps.log.Error("cannot replace worker process", zap.Int("slot", slot), zap.Error(err))
		}
	}
}

// stop asks the workers to drain (closes their stdin), or kills them if
// hard or if they do not exit in time, and waits for them. It may be called
// more than once.
func (ps *procs) stop(hard bool) {
	ps.mu.Lock()
	if !ps.stopping {
		ps.stopping = true
		close(ps.stopCh)
	}
	cur := make([]*workerProc, 0, len(ps.cur))
	for _, p := range ps.cur {
		if p != nil {
			cur = append(cur, p)
		}
	}
	ps.mu.Unlock()
	for _, p := range cur {
		if hard {
			p.killed.Store(true)
			_ = p.cmd.Process.Kill() // its group: when it is reaped
		} else {
			_ = p.in.Close()
		}
	}
	t := time.NewTimer(ps.grace)
	defer t.Stop()
	late := false
	for _, p := range cur {
		if !late {
			select {
			case <-p.done:
				continue
			case <-t.C:
				late = true
			}
		}
		select {
		case <-p.done:
		default:
			p.killed.Store(true)
			p.log.Warn("worker process did not exit in time; killing it", zap.Duration("grace", ps.grace))
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	ps.wg.Wait()
	// Every process is reaped: the thread that started them may end.
	ps.closeSp.Do(ps.sp.Close)
}

// started returns every process started so far.
func (ps *procs) started() []*exec.Cmd {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]*exec.Cmd(nil), ps.all...)
}
