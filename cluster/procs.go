package cluster

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/gofutures/gofutures/executor"
	"go.uber.org/zap"
)

// procs are the worker processes an Executor started (WithWorkerProcesses):
// this program re-executed, connecting to the executor's server. One that
// dies is replaced (its task is redelivered by the server); at shutdown their
// standard input is closed, which makes them drain and exit, and a hard stop
// kills them.
type procs struct {
	log   *zap.Logger
	hooks *executor.Hooks
	exe   string
	env   []string
	grace time.Duration

	mu       sync.Mutex
	stopping bool
	stopCh   chan struct{}
	cur      []*workerProc // the live process of each slot
	all      []*exec.Cmd   // every process started, for tests
	wg       sync.WaitGroup
}

type workerProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	at    time.Time
	done  chan struct{}
	state *os.ProcessState
}

func startProcs(cfg *config, url string, log *zap.Logger) (*procs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cluster: cannot start worker processes: %w", err)
	}
	env := append(os.Environ(),
		EnvWorker+"=1", EnvURL+"="+url, EnvStream+"="+cfg.stream, envStdin+"=1",
		EnvConcurrency+"="+strconv.Itoa(cfg.concurrency), EnvPrefetch+"="+strconv.Itoa(cfg.prefetch))
	switch {
	case cfg.token != "":
		env = append(env, EnvToken+"="+cfg.token)
	case cfg.user != "":
		env = append(env, EnvUser+"="+cfg.user, EnvPassword+"="+cfg.password)
	case cfg.nkeySeed != "":
		env = append(env, EnvNKeySeed+"="+cfg.nkeySeed)
	}
	ps := &procs{log: log, hooks: cfg.hooks, exe: exe, env: env, grace: cfg.drainTimeout + 5*time.Second,
		stopCh: make(chan struct{}), cur: make([]*workerProc, cfg.workerProcs)}
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
	in, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: start worker process: %w", err)
	}
	p := &workerProc{cmd: cmd, in: in, at: time.Now(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	ps.cur[slot] = p
	ps.all = append(ps.all, cmd)
	ps.hooks.OnWorkerStarted()
	ps.log.Info("worker process started", zap.Int("pid", cmd.Process.Pid))
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
			ps.log.Info("worker process exited", zap.Int("pid", p.cmd.Process.Pid), zap.Stringer("status", p.state))
			return
		}
		ps.hooks.OnWorkerStopped(executor.ExitCrashed)
		ps.log.Warn("worker process died; starting another", zap.Int("pid", p.cmd.Process.Pid), zap.Stringer("status", p.state))
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
			ps.log.Error("cannot replace worker process", zap.Error(err))
		}
	}
}

// stop asks the workers to drain (closes their stdin), or kills them if
// hard or if they do not exit in time, and waits for them.
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
			_ = p.cmd.Process.Kill()
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
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	ps.wg.Wait()
}

// started returns every process started so far.
func (ps *procs) started() []*exec.Cmd {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]*exec.Cmd(nil), ps.all...)
}
