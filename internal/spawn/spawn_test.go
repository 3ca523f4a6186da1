package spawn

import (
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"testing"
)

// Children started at once, from several threads, all get their
// parent-death signal when the spawner closes.
func TestCloseSignalsEveryChild(t *testing.T) {
	s := New()
	const n = 4
	cmds := make([]*exec.Cmd, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cmds {
		cmds[i] = exec.Command("sleep", "1000")
		cmds[i].SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		wg.Go(func() { errs[i] = s.Start(cmds[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	<-s.Done()
	for _, cmd := range cmds {
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("sleep: %v, want killed", err)
		}
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("sleep ended with %v, want SIGKILL", ws)
		}
	}
	s.Close() // idempotent
}

// A spawner closed before it started anything is done at once.
func TestCloseUnused(t *testing.T) {
	s := New()
	s.Close()
	<-s.Done()
}
