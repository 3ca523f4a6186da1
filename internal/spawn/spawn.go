// Package spawn starts child processes that must die with their parent.
//
// Linux delivers a parent-death signal (SysProcAttr.Pdeathsig) when the
// thread that forked the child exits, not the process. A Spawner starts
// children from goroutines locked to their OS threads, which live until
// Close: close it only after every child it started has been reaped.
package spawn

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// Spawner starts processes from locked OS threads: up to GOMAXPROCS at once
// (cmd.Start waits for the child's exec, so children started one after the
// other would each wait for the last), on threads started as concurrent
// calls need them and kept until Close. It is safe for concurrent use.
type Spawner struct {
	reqs chan req
	done chan struct{}
	max  int

	mu      sync.Mutex
	idle    int // threads free to take a request
	threads int
	closed  bool
	ended   int // threads ended after Close
}

type req struct {
	cmd   *exec.Cmd
	reply chan error
}

// New returns a spawner; its first thread starts with the first Start.
func New() *Spawner {
	return &Spawner{reqs: make(chan req), done: make(chan struct{}), max: max(runtime.GOMAXPROCS(0), 1)}
}

func (s *Spawner) loop() {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	if syscall.Gettid() == syscall.Getpid() {
		// The main thread never exits (the runtime parks a locked one
		// instead), so its children would get no parent-death signal at
		// Close: hand over to a goroutine locked to another thread, which
		// cannot be this one while this goroutine holds it.
		ready := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(ready)
			s.serve()
		}()
		<-ready
		runtime.UnlockOSThread()
		return
	}
	s.serve()
}

func (s *Spawner) serve() {
	for r := range s.reqs {
		r.reply <- r.cmd.Start()
		s.mu.Lock()
		s.idle++
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.ended++
	last := s.ended == s.threads
	s.mu.Unlock()
	if last {
		close(s.done)
	}
}

// Start starts cmd on one of the spawner's threads and returns cmd.Start's
// error. It blocks until then (until a thread is free, if as many Starts
// as GOMAXPROCS are under way). It must not be called after Close.
func (s *Spawner) Start(cmd *exec.Cmd) error {
	s.mu.Lock()
	switch {
	case s.idle > 0:
		s.idle--
	case s.threads < s.max:
		s.threads++
		go s.loop()
	default: // every thread is busy: the first free one takes it
		s.idle-- // it adds its own back when it finishes
	}
	s.mu.Unlock()
	reply := make(chan error, 1)
	s.reqs <- req{cmd, reply}
	return <-reply
}

// Close ends the spawner's goroutines and their threads, which delivers the
// parent-death signal to the children still alive.
func (s *Spawner) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	none := s.threads == 0
	s.mu.Unlock()
	close(s.reqs)
	if none {
		close(s.done)
	}
}

// Done is closed when the spawner's goroutines have ended, after Close.
func (s *Spawner) Done() <-chan struct{} { return s.done }
