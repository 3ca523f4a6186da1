// Package spawn starts child processes that must die with their parent.
//
// Linux delivers a parent-death signal (SysProcAttr.Pdeathsig) when the
// thread that forked the child exits, not the process. A Spawner starts
// children from one goroutine locked to its OS thread, which lives until
// Close: close it only after every child it started has been reaped.
package spawn

import (
	"os/exec"
	"runtime"
)

// Spawner starts processes from one locked OS thread.
type Spawner struct {
	reqs chan req
	done chan struct{}
}

type req struct {
	cmd   *exec.Cmd
	reply chan error
}

// New starts the spawner's goroutine.
func New() *Spawner {
	s := &Spawner{reqs: make(chan req), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *Spawner) loop() {
	defer close(s.done)
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	for r := range s.reqs {
		r.reply <- r.cmd.Start()
	}
}

// Start starts cmd on the spawner's thread and returns cmd.Start's error.
// It must not be called after Close.
func (s *Spawner) Start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- req{cmd, reply}
	return <-reply
}

// Close ends the spawner's goroutine and its thread, which delivers the
// parent-death signal to the children still alive.
func (s *Spawner) Close() { close(s.reqs) }

// Done is closed when the spawner's goroutine has ended, after Close.
func (s *Spawner) Done() <-chan struct{} { return s.done }
