package process

import (
	"bufio"
	"strings"
	"sync"
)

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
