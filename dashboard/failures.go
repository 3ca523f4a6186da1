package dashboard

import (
	"errors"
	"sync"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

// maxErrorText bounds the error text kept per failure.
const maxErrorText = 2000

// failure is one recorded failure.
type failure struct {
	at      time.Time
	outcome executor.Outcome
	text    string
	pid     int
}

type failureView struct {
	Time    int64  `json:"time"` // Unix milliseconds
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
	Pid     int    `json:"pid,omitempty"`
}

// ring keeps the last failures, under a mutex taken only when a failure is
// recorded or shown.
type ring struct {
	mu    sync.Mutex
	buf   []failure
	next  int
	total uint64
}

func newRing(n int) *ring { return &ring{buf: make([]failure, 0, n)} }

func (r *ring) add(f failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if cap(r.buf) == 0 {
		return
	}
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, f)
		return
	}
	r.buf[r.next] = f
	r.next = (r.next + 1) % len(r.buf)
}

// list returns the failures, newest first.
func (r *ring) list() []failureView {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]failureView, 0, len(r.buf))
	for i := range r.buf {
		// newest is just before next (or the last appended)
		j := (r.next - 1 - i + 2*len(r.buf)) % len(r.buf)
		if len(r.buf) < cap(r.buf) {
			j = len(r.buf) - 1 - i
		}
		f := r.buf[j]
		out = append(out, failureView{Time: f.at.UnixMilli(), Outcome: f.outcome.String(), Error: f.text, Pid: f.pid})
	}
	return out
}

// failureOf describes err: its outcome, its text (bounded) and the pid of
// the helper process it names, if any.
func failureOf(err error, now time.Time) failure {
	f := failure{at: now, outcome: executor.OutcomeOf(err), text: err.Error()}
	if len(f.text) > maxErrorText {
		f.text = f.text[:maxErrorText] + "…"
	}
	var we *process.WorkerError
	var te *process.TimeoutError
	switch {
	case errors.As(err, &we):
		f.pid = we.Pid
	case errors.As(err, &te):
		f.pid = te.Pid
	}
	return f
}
