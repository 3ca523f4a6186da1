package executor

import "github.com/gofutures/gofutures/executor/driver"

// entry is a scheduled task; its scope, nil for a task scheduled with
// context.Background() or context.TODO() (it runs with GoPool.runCtx); and,
// when it is timed for the hooks, when it was scheduled (GoPool.now; 0: not
// timed).
type entry struct {
	t  driver.Task
	s  *scope
	at int64
}

// queue is GoPool's FIFO of tasks waiting for a worker: blocks of slots
// linked in order. It grows a block at a time, without copying what it
// holds, and gives each block back as soon as it is drained, but for the
// first keepBlocks, kept for reuse, so that a pool that fills and drains
// its queue batch after batch, a thousand tasks at a time, allocates
// nothing. A slot is a task and its scope (24 bytes): the
// time an entry was scheduled, which only hooks need, is kept in an array
// of the block made on the first timed entry. A queue is not safe for
// concurrent use (GoPool.mu guards it).
type queue struct {
	head, tail *block
	hi, ti     int // the first slot in use in head, the first free one in tail
	n          int
	spare      *block // drained blocks kept for reuse, linked by next
	spares     int
}

// blockLen makes a block 4072 bytes, which with the 8-byte header the
// allocator puts before an object of more than 512 bytes that holds
// pointers fills the 4096-byte size class.
const blockLen = 169

// keepBlocks is how many drained blocks a queue keeps (24 KiB, 1014 tasks).
const keepBlocks = 6

type slot struct {
	t driver.Task
	s *scope
}

type block struct {
	next  *block
	slots [blockLen]slot
	at    *[blockLen]int64 // nil until an entry timed for the hooks is pushed
}

func (q *queue) len() int { return q.n }

func (q *queue) push(e entry) {
	if q.tail == nil || q.ti == blockLen {
		b := q.spare
		if b != nil {
			q.spare, b.next = b.next, nil
			q.spares--
		} else {
			b = new(block)
		}
		if q.tail == nil {
			q.head, q.hi = b, 0
		} else {
			q.tail.next = b
		}
		q.tail, q.ti = b, 0
	}
	b := q.tail
	b.slots[q.ti] = slot{e.t, e.s}
	if e.at != 0 {
		if b.at == nil {
			b.at = new([blockLen]int64)
		}
		b.at[q.ti] = e.at
	}
	q.ti++
	q.n++
}

func (q *queue) pop() (entry, bool) {
	if q.n == 0 {
		return entry{}, false
	}
	b := q.head
	s := &b.slots[q.hi]
	e := entry{t: s.t, s: s.s}
	*s = slot{}
	if b.at != nil {
		e.at, b.at[q.hi] = b.at[q.hi], 0
	}
	q.hi++
	q.n--
	switch {
	case q.n == 0: // keep the block: the next push reuses it
		q.hi, q.ti = 0, 0
	case q.hi == blockLen:
		q.head, q.hi = b.next, 0
		b.next = nil
		if q.spares < keepBlocks {
			b.next, q.spare = q.spare, b
			q.spares++
		}
	}
	return e, true
}

// drain removes and returns every entry, front first.
func (q *queue) drain() []entry {
	out := make([]entry, 0, q.n)
	for {
		e, ok := q.pop()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

// remove removes the entries for which gone is true, keeping the order of
// the others, and returns them.
func (q *queue) remove(gone func(entry) bool) []entry {
	var out []entry
	for n := q.n; n > 0; n-- {
		e, _ := q.pop()
		if gone(e) {
			out = append(out, e)
			continue
		}
		q.push(e)
	}
	return out
}

// each calls fn with the scope of every entry that has one, front first.
func (q *queue) eachScope(fn func(*scope)) {
	i := q.hi
	left := q.n
	for b := q.head; b != nil && left > 0; b = b.next {
		for ; i < blockLen && left > 0; i++ {
			if s := b.slots[i].s; s != nil {
				fn(s)
			}
			left--
		}
		i = 0
	}
}
