package executor

// entry is a scheduled task and, when it is timed for the hooks, when it was
// scheduled (GoPool.now; 0: not timed).
type entry struct {
	t  Task
	at int64
}

// ring is a FIFO queue that grows as needed and gives a burst's memory
// back when it empties; not safe for concurrent use. GoPool queues its
// entries in one, Map its futures.
type ring[T any] struct {
	buf        []T
	head, size int
}

func (q *ring[T]) len() int { return q.size }

func (q *ring[T]) push(e T) {
	if q.size == len(q.buf) {
		n := max(16, 2*len(q.buf))
		buf := make([]T, n)
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.head])
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = e
	q.size++
}

func (q *ring[T]) pop() (T, bool) {
	var zero T
	if q.size == 0 {
		return zero, false
	}
	e := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 && len(q.buf) > 1024 {
		q.buf, q.head = nil, 0 // give a burst's memory back
	}
	return e, true
}

// drain removes and returns every entry.
func (q *ring[T]) drain() []T {
	out := make([]T, 0, q.size)
	for {
		e, ok := q.pop()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}
