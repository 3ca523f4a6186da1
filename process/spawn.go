package process

import (
	"bufio"
	"os/exec"
	"runtime"
	"strings"
	"sync"
)

// spawner starts helper processes from one goroutine locked to its OS
// thread. The helpers are started with Pdeathsig, which Linux delivers when
// the thread that forked them exits, not the process: the thread must live as
// long as the helpers, so this goroutine lives as long as the pool and is
// ended (by close) only after every helper has been reaped.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	defer close(s.done)
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	for r := range s.reqs {
		r.reply <- r.cmd.Start()
	}
}

// start starts cmd on the spawner's thread. It blocks until the process has
// started (or failed to). Not to be called after close.
func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- spawnReq{cmd, reply}
	return <-reply
}

func (s *spawner) close() { close(s.reqs) }

// tail keeps the last lines of a helper's standard error, and the first
// lines that announce a crash ("fatal error: ...", "panic: ..."), which a
// goroutine dump would otherwise push out of the tail.
type tail struct {
	mu      sync.Mutex
	lines   []string
	next    int
	full    bool
	seen    int      // lines added
	notable []string // the first crash lines
	notedAt []int    // their line numbers
}

const (
	tailLines   = 20
	maxNotable  = 4
	maxLineSize = 4096
)

var crashPrefixes = []string{"fatal error:", "panic:", "runtime: ", "[signal ", "SIG"}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lines == nil {
		t.lines = make([]string, tailLines)
	}
	if len(t.notable) < maxNotable {
		for _, p := range crashPrefixes {
			if strings.HasPrefix(line, p) {
				t.notable = append(t.notable, line)
				t.notedAt = append(t.notedAt, t.seen)
				break
			}
		}
	}
	t.seen++
	t.lines[t.next] = line
	t.next = (t.next + 1) % tailLines
	if t.next == 0 {
		t.full = true
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	first := t.seen - tailLines // line number of the oldest line kept
	for i, l := range t.notable {
		if t.notedAt[i] < first {
			out = append(out, l)
		}
	}
	if len(out) > 0 {
		out = append(out, "...")
	}
	if t.full {
		out = append(out, t.lines[t.next:]...)
	}
	out = append(out, t.lines[:t.next]...)
	return strings.Join(out, "\n")
}

// readLines calls fn with each line of r (cut at maxLineSize) until r ends.
func readLines(r *bufio.Reader, fn func(string)) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if len(line) < maxLineSize {
			line = append(line, chunk[:min(len(chunk), maxLineSize-len(line))]...)
		}
		if err != nil {
			if len(line) > 0 {
				fn(string(line))
			}
			return
		}
		if !isPrefix {
			fn(string(line))
			line = line[:0]
		}
	}
}
