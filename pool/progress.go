package pool

import "sync"

// progress reports (done, total) to a WithProgress function. A nil
// *progress reports nothing. Safe for concurrent use.
type progress struct {
	p     *Pool
	fn    func(done, total int)
	mu    sync.Mutex
	done  int
	total int
	off   bool // the function panicked, or the call no longer reports
}

func newProgress(p *Pool, c *callConfig, total int) *progress {
	if c.progress == nil {
		return nil
	}
	if c.totalSet {
		total = c.total
	}
	return &progress{p: p, fn: c.progress, total: total}
}

// add counts n more items done and reports.
func (g *progress) add(n int) {
	if g == nil || n == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off {
		return
	}
	g.done += n
	g.reportLocked()
}

// end reports the total of a lazy input once it is known.
func (g *progress) end(total int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off || g.total == total {
		return
	}
	g.total = total
	g.reportLocked()
}

// stop ends the reports (the loop was left).
func (g *progress) stop() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.off = true
	g.mu.Unlock()
}

func (g *progress) reportLocked() {
	done, total := g.done, g.total
	if err := g.p.guard(func() { g.fn(done, total) }); err != nil {
		g.off = true
	}
}
