package dashboard

import (
	"sync/atomic"
	"time"
)

// call is one pool call reporting its progress. The progress function
// stores two numbers; the clock is read when the call is made and when it
// reports its end, never in between.
type call struct {
	name    string
	id      uint64
	start   time.Time
	done    atomic.Int64
	total   atomic.Int64
	endNano atomic.Int64 // Unix nanoseconds when done reached total; 0 before

	// Written by snapshots only, under Dashboard.mu: the last sample, for
	// the recent rate.
	lastAt   time.Time
	lastDone int64
	rate     float64
}

func (c *call) report(done, total int) {
	c.total.Store(int64(total))
	c.done.Store(int64(done))
	if total >= 0 && done >= total && c.endNano.Load() == 0 {
		c.endNano.Store(time.Now().UnixNano())
	}
}

func (c *call) finished() bool { return c.endNano.Load() != 0 }

type callView struct {
	ID       uint64  `json:"id"`
	Name     string  `json:"name"`
	Start    int64   `json:"start"` // Unix milliseconds
	Done     int64   `json:"done"`
	Total    int64   `json:"total"` // -1 while unknown
	Finished bool    `json:"finished"`
	Elapsed  float64 `json:"elapsed"` // seconds
	Rate     float64 `json:"rate"`    // items per second, over the whole call
	Recent   float64 `json:"recent"`  // items per second, since the previous sample
	ETA      float64 `json:"eta"`     // seconds; -1 when unknown
}

// view reads the call at now; sample says whether to update its recent rate.
func (c *call) view(now time.Time, sample bool) callView {
	v := callView{ID: c.id, Name: c.name, Start: c.start.UnixMilli(), Total: c.total.Load(), Done: c.done.Load(), ETA: -1}
	end := now
	if e := c.endNano.Load(); e != 0 {
		v.Finished = true
		end = time.Unix(0, e)
	}
	v.Elapsed = end.Sub(c.start).Seconds()
	if v.Elapsed > 0 {
		v.Rate = float64(v.Done) / v.Elapsed
	}
	if sample {
		if !c.lastAt.IsZero() {
			if dt := now.Sub(c.lastAt).Seconds(); dt > 0 {
				c.rate = float64(v.Done-c.lastDone) / dt
			}
		}
		c.lastAt, c.lastDone = now, v.Done
	}
	v.Recent = c.rate
	if v.Finished {
		v.Recent, v.ETA = 0, 0
	} else if v.Total >= 0 && v.Rate > 0 {
		r := v.Rate
		if c.rate > 0 {
			r = c.rate
		}
		v.ETA = float64(v.Total-v.Done) / r
	}
	return v
}
