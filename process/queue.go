package process

import (
	"time"

	"github.com/gofutures/gofutures/executor"
)

// job is a scheduled task on its way to and through a helper.
type job struct {
	t       executor.Task
	r       executor.Remote
	at      time.Time // when it was scheduled (only with hooks)
	runAt   time.Time // when it was handed to a helper (only with hooks)
	started bool      // t.Start returned true; a re-queued job is not started again
	id      uint64    // call id on its current helper's stream
}

// ring is a FIFO of jobs that grows as needed; not safe for concurrent use.
type ring struct {
	buf        []*job
	head, size int
}

func (q *ring) len() int { return q.size }

func (q *ring) grow() {
	n := max(16, 2*len(q.buf))
	buf := make([]*job, n)
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}

func (q *ring) push(j *job) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)%len(q.buf)] = j
	q.size++
}

// pushFront puts j before every other job.
func (q *ring) pushFront(j *job) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = j
	q.size++
}

func (q *ring) peek() *job {
	if q.size == 0 {
		return nil
	}
	return q.buf[q.head]
}

func (q *ring) pop() (*job, bool) {
	if q.size == 0 {
		return nil, false
	}
	j := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 && len(q.buf) > 4096 {
		q.buf, q.head = nil, 0 // give a burst's memory back
	}
	return j, true
}

// drain removes and returns every job, in order.
func (q *ring) drain() []*job {
	out := make([]*job, 0, q.size)
	for {
		j, ok := q.pop()
		if !ok {
			return out
		}
		out = append(out, j)
	}
}

// requeue puts jobs, in order, before every other job.
func (q *ring) requeue(jobs []*job) {
	for i := len(jobs) - 1; i >= 0; i-- {
		q.pushFront(jobs[i])
	}
}
