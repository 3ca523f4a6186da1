package executor

import "time"

// reap expires idle workers. It ticks every half idle timeout and tells a
// worker to exit once it has been idle for three ticks, so a worker exits
// after between one and one and a half idle timeouts. A tick looks only at
// the workers it expires: p.idle is a stack, the longest idle at the
// bottom.
func (p *GoPool) reap() {
	defer close(p.reaped)
	tick := time.NewTicker(max(p.cfg.idleTimeout/2, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stopReap:
			return
		case <-tick.C:
		}
		now := p.ticks.Add(1)
		p.mu.Lock()
		n := 0
		for n < len(p.idle) && now-p.idle[n].idleAt >= 3 {
			w := p.idle[n]
			w.exit = ExitIdle
			w.wake <- struct{}{} // buffered: never blocks
			n++
		}
		if n > 0 {
			k := copy(p.idle, p.idle[n:])
			clear(p.idle[k:])
			p.idle = p.idle[:k]
		}
		p.mu.Unlock()
	}
}
