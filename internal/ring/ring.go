package ring

// shrinkAbove is the capacity above which an emptied Ring drops its buffer,
// so that a burst's memory goes back to the garbage collector.
const shrinkAbove = 1024

// Ring is a FIFO queue that grows as needed and gives a burst's memory back
// when it empties. Besides the usual Push and Pop it can put values back at
// the front (PushFront, Requeue), for work that must run before what came
// after it. The zero Ring is empty and ready to use. A Ring is not safe for
// concurrent use.
type Ring[T any] struct {
	buf        []T
	head, size int
}

// Len returns the number of values in q.
func (q *Ring[T]) Len() int { return q.size }

// Push puts v at the back of q.
func (q *Ring[T]) Push(v T) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
}

// PushFront puts v at the front of q, before every other value.
func (q *Ring[T]) PushFront(v T) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = v
	q.size++
}

// Requeue puts vs, in their order, at the front of q.
func (q *Ring[T]) Requeue(vs []T) {
	for i := len(vs) - 1; i >= 0; i-- {
		q.PushFront(vs[i])
	}
}

// Peek returns the value at the front of q without removing it; false if q
// is empty.
func (q *Ring[T]) Peek() (T, bool) {
	if q.size == 0 {
		var zero T
		return zero, false
	}
	return q.buf[q.head], true
}

// Pop removes and returns the value at the front of q; false if q is empty.
func (q *Ring[T]) Pop() (T, bool) {
	var zero T
	if q.size == 0 {
		return zero, false
	}
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 && len(q.buf) > shrinkAbove {
		q.buf, q.head = nil, 0
	}
	return v, true
}

// Drain removes and returns every value of q, front first.
func (q *Ring[T]) Drain() []T {
	out := make([]T, 0, q.size)
	for {
		v, ok := q.Pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func (q *Ring[T]) grow() {
	buf := make([]T, max(16, 2*len(q.buf)))
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}
