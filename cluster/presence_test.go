package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gofutures/gofutures/cluster/clusterstats"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofutures/gofutures/executor"
)

// runWorker runs a worker in this process; stop cancels its Run and waits
// for it to return (also when the test ends, if stop was not called).
func runWorker(t *testing.T, url string, more ...WorkerOption) (stop func()) {
	t.Helper()
	w, err := NewWorker(testReg, append([]WorkerOption{WithURL(url), WithToken(testToken), WithConcurrency(4)}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitStats polls ex.Stats until ok accepts them, and fails the test if
// that does not happen within the test's budget (waitCtx).
func waitStats(t *testing.T, ex *Executor, what string, ok func(clusterstats.Stats) bool) clusterstats.Stats {
	t.Helper()
	ctx := waitCtx(t)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last clusterstats.Stats
	var lastErr error
	for {
		st, err := ex.Stats(ctx)
		if err == nil && ok(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not seen in time; last clusterstats.Stats %+v, error %v", what, last, lastErr)
		case <-tick.C:
		}
	}
}

func TestPresenceJoinAndLeave(t *testing.T) {
	ex := newTestExecutor(t, WithWorkersHint(7))
	if n := ex.Workers(); n != 7 {
		t.Fatalf("Workers() with no worker = %d, want the WithWorkersHint value 7", n)
	}
	st, err := ex.Stats(waitCtx(t))
	if err != nil || len(st.Workers) != 0 {
		t.Fatalf("Stats before any worker = %+v, %v", st, err)
	}

	before := time.Now()
	stopA := runWorker(t, ex.URL(), WithName("alpha"), WithConcurrency(3))
	st = waitStats(t, ex, "worker alpha joins", func(st clusterstats.Stats) bool { return len(st.Workers) == 1 })
	w := st.Workers[0]
	host, _ := os.Hostname()
	if w.Name != "alpha" || w.ID == "" || w.Host != host || w.PID != os.Getpid() || w.Concurrency != 3 ||
		w.Running != 0 || w.Held != 0 || w.Draining || w.LastSeen.Before(before) {
		t.Errorf("worker = %+v; want alpha, host %s, pid %d, concurrency 3, idle, seen after %v", w, host, os.Getpid(), before)
	}
	if n := ex.Workers(); n != 3 {
		t.Errorf("Workers() with alpha = %d, want 3", n)
	}

	stopB := runWorker(t, ex.URL(), WithName("beta"), WithConcurrency(2))
	st = waitStats(t, ex, "worker beta joins", func(st clusterstats.Stats) bool { return len(st.Workers) == 2 })
	if st.Workers[0].Name != "alpha" || st.Workers[1].Name != "beta" || st.Workers[0].ID == st.Workers[1].ID {
		t.Errorf("workers = %+v, want alpha then beta, distinct ids", st.Workers)
	}
	if n := ex.Workers(); n != 5 {
		t.Errorf("Workers() with alpha and beta = %d, want 5", n)
	}

	stopA() // Run returns after its last announcement was flushed
	st = waitStats(t, ex, "alpha leaves", func(st clusterstats.Stats) bool { return len(st.Workers) == 1 })
	if st.Workers[0].Name != "beta" {
		t.Errorf("workers after alpha stopped = %+v", st.Workers)
	}
	stopB()
	waitStats(t, ex, "beta leaves", func(st clusterstats.Stats) bool { return len(st.Workers) == 0 })
	if n := ex.Workers(); n != 7 {
		t.Errorf("Workers() after every worker left = %d, want 7 again", n)
	}
}

// TestPresenceLoad follows one task through a worker's announcements:
// running and held while it runs, draining while the worker waits for it,
// gone when it stopped.
func TestPresenceLoad(t *testing.T) {
	ex := newTestExecutor(t)
	stop := runWorker(t, ex.URL(), WithName("busy"), WithConcurrency(2), WithDrainTimeout(time.Minute))
	ctx, cancel := context.WithCancel(waitCtx(t))
	defer cancel()
	f, err := executor.Call(ctx, ex, block, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := waitStats(t, ex, "the task runs", func(st clusterstats.Stats) bool {
		return len(st.Workers) == 1 && st.Workers[0].Running == 1
	})
	if w := st.Workers[0]; w.Held != 1 || st.AckPending != 1 || st.StreamDepth != 0 {
		t.Errorf("while the task runs: worker %+v, ack pending %d, depth %d; want held 1, ack pending 1, depth 0",
			w, st.AckPending, st.StreamDepth)
	}
	if n := ex.Workers(); n != 2 {
		t.Errorf("Workers() = %d, want 2", n)
	}

	// Stop the worker while the task runs: it drains, and says so at once.
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	waitStats(t, ex, "the worker drains", func(st clusterstats.Stats) bool { return len(st.Workers) == 1 && st.Workers[0].Draining })
	if n, want := ex.Workers(), ex.cfg.workers; n != want {
		t.Errorf("Workers() while the only worker drains = %d, want the fallback %d", n, want)
	}
	cancel() // the task's ctx ends on the worker: it returns, the drain ends
	if err := f.Err(waitCtx(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("task error %v, want context.Canceled", err)
	}
	<-stopped
	waitStats(t, ex, "the worker leaves", func(st clusterstats.Stats) bool { return len(st.Workers) == 0 })
}

// TestStatsStreamDepth: tasks no worker took wait in the stream, and the
// server's confirmations of them are timed.
func TestStatsStreamDepth(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	for i := range 5 {
		if _, err := executor.Call(ctx, ex, square, i); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, ex, "5 tasks stored", func(st clusterstats.Stats) bool { return st.StreamDepth == 5 && st.AckLatency.Count == 5 })
	if st.AckPending != 0 || len(st.Workers) != 0 || st.Redeliveries != 0 || st.DeliveryLimitFailures != 0 {
		t.Errorf("Stats = %+v; want no worker, nothing pending, no redelivery", st)
	}
	h := st.AckLatency
	if len(h.Bounds) != len(h.Counts) || len(h.Bounds) == 0 || h.Sum <= 0 || h.Counts[len(h.Counts)-1] > h.Count {
		t.Fatalf("ack latency histogram %+v", h)
	}
	for i := 1; i < len(h.Bounds); i++ {
		if h.Bounds[i] <= h.Bounds[i-1] || h.Counts[i] < h.Counts[i-1] {
			t.Fatalf("ack latency histogram not increasing at %d: %+v", i, h)
		}
	}

	// A worker takes them all: the stream is empty again.
	startWorker(t, ex.URL())
	waitStats(t, ex, "stream drained", func(st clusterstats.Stats) bool { return st.StreamDepth == 0 && st.AckPending == 0 })
}

func TestStatsCountersAndStop(t *testing.T) {
	ex := newTestExecutor(t)
	ex.noteRedelivery()
	ex.noteRedelivery()
	ex.noteDeliveryLimit()
	st, err := ex.Stats(waitCtx(t))
	if err != nil || st.Redeliveries != 2 || st.DeliveryLimitFailures != 1 {
		t.Fatalf("Stats = %+v, %v; want 2 redeliveries, 1 delivery-limit failure", st, err)
	}
	if err := ex.Stop(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	// No connection: the stream cannot be read, the executor's own counts can.
	st, err = ex.Stats(waitCtx(t))
	if err == nil || st.Redeliveries != 2 || st.DeliveryLimitFailures != 1 || len(st.AckLatency.Bounds) == 0 {
		t.Fatalf("Stats after Stop = %+v, %v; want an error and the counters", st, err)
	}
}

// TestStatsRedelivery: a worker drains with a task running and gives it
// back; the next worker's start request for it counts as a redelivery.
func TestStatsRedelivery(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	stopA := runWorker(t, ex.URL(), WithName("a"), WithDrainTimeout(50*time.Millisecond))
	f, err := executor.Call(ctx, ex, hangOnce, filepath.Join(t.TempDir(), "ran"))
	if err != nil {
		t.Fatal(err)
	}
	waitStats(t, ex, "a runs the task", func(st clusterstats.Stats) bool { return len(st.Workers) == 1 && st.Workers[0].Running == 1 })
	stopA() // the drain times out: the task is cancelled and given back
	runWorker(t, ex.URL(), WithName("b"))
	if v, err := f.Result(ctx); err != nil || v != "again" {
		t.Fatalf("after the redelivery: %q, %v; want \"again\"", v, err)
	}
	st, err := ex.Stats(ctx)
	if err != nil || st.Redeliveries != 1 || st.DeliveryLimitFailures != 0 {
		t.Fatalf("Stats = %+v, %v; want 1 redelivery", st, err)
	}
}

// TestPresenceTable drives the table of workers with its own clock.
func TestPresenceTable(t *testing.T) {
	var c clusterStats
	t0 := time.Unix(1000, 0)
	a := presence{name: "a", id: "A", concurrency: 4, every: time.Second}
	b := presence{name: "b", id: "B", concurrency: 2, every: 10 * time.Second}
	c.see(&a, t0)
	c.see(&b, t0)
	if n := c.capacity(t0); n != 6 {
		t.Fatalf("capacity = %d, want 6", n)
	}
	if ws := c.live(t0.Add(3 * time.Second)); len(ws) != 2 || ws[0].ID != "A" || ws[1].ID != "B" {
		t.Fatalf("live after 3 intervals of a = %+v, want a and b", ws)
	}
	if ws := c.live(t0.Add(3*time.Second + 1)); len(ws) != 1 || ws[0].ID != "B" {
		t.Fatalf("live after a missed 3 announcements = %+v, want b only", ws)
	}
	a.running, a.held = 1, 3
	c.see(&a, t0.Add(4*time.Second)) // back, with work
	if ws := c.live(t0.Add(4 * time.Second)); len(ws) != 2 || ws[0].Running != 1 || ws[0].Held != 3 {
		t.Fatalf("live = %+v", ws)
	}
	b.draining = true
	c.see(&b, t0.Add(4*time.Second))
	if n := c.capacity(t0.Add(4 * time.Second)); n != 4 {
		t.Fatalf("capacity with b draining = %d, want 4", n)
	}
	a.leaving = true
	c.see(&a, t0.Add(5*time.Second))
	if ws := c.live(t0.Add(5 * time.Second)); len(ws) != 1 || ws[0].ID != "B" || !ws[0].Draining {
		t.Fatalf("live after a left = %+v, want b, draining", ws)
	}

	// The table is bounded; stale entries make room.
	var d clusterStats
	for i := range maxWorkersTracked + 10 {
		d.see(&presence{id: fmt.Sprint(i), concurrency: 1, every: time.Second}, t0)
	}
	if n := len(d.live(t0)); n != maxWorkersTracked {
		t.Fatalf("table holds %d workers, want the bound %d", n, maxWorkersTracked)
	}
	later := t0.Add(time.Minute)
	d.see(&presence{id: "new", concurrency: 5, every: time.Second}, later)
	if ws := d.live(later); len(ws) != 1 || ws[0].ID != "new" {
		t.Fatalf("after the others went stale: %d workers, want only the new one", len(ws))
	}
}

func TestPresenceCodec(t *testing.T) {
	p := presence{name: "wörker", id: "ID123", host: "h.example", pid: 4242, concurrency: 8, running: 3, held: 7,
		every: 1500 * time.Millisecond, draining: true}
	b := appendPresence(nil, &p)
	got, err := decodePresence(b)
	if err != nil || got != p {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, p)
	}
	for n := range len(b) {
		if _, err := decodePresence(b[:n]); !errors.Is(err, errBadPresence) {
			t.Fatalf("truncated to %d bytes: err %v, want errBadPresence", n, err)
		}
	}
	if got, err := decodePresence(append(bytes.Clone(b), 9, 9, 9)); err != nil || got != p {
		t.Fatalf("with trailing fields of a later version: %+v, %v", got, err)
	}

	// What a worker sends is always accepted: clipped and cleaned.
	long := presence{name: strings.Repeat("é", 200), id: strings.Repeat("x", 100), host: "bad\xffhost",
		concurrency: -1, running: 1 << 40, every: 0}
	got, err = decodePresence(appendPresence(nil, &long))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.name) > maxPresenceName || !utf8.ValidString(got.name) || len(got.id) != maxPresenceID ||
		got.host != "bad\uFFFDhost" || got.concurrency != 0 || got.running != maxPresenceCount || got.every != time.Millisecond {
		t.Fatalf("clipped announcement decoded as %+v", got)
	}

	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 2", append([]byte{2}, b[1:]...)},
		{"too long", append(bytes.Clone(b), make([]byte, maxPresenceSize)...)},
		{"interval 0", []byte{1, 0, 0, 1, 0, 0, 0, 0, 1, 'x', 0}},
		{"interval over an hour", binary.AppendUvarint([]byte{1, 0}, uint64(maxPresenceEvery/time.Millisecond)+1)},
		{"overlong varint", []byte{1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
		{"count over the bound", []byte{1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x08}},
		{"empty id", []byte{1, 0, 1, 1, 0, 0, 1, 0, 0, 0}},
		{"name not UTF-8", []byte{1, 0, 1, 1, 0, 0, 1, 1, 0xFF, 1, 'x', 0}},
		{"name longer than the message", []byte{1, 0, 1, 1, 0, 0, 1, 100, 'a'}},
		{"name over its bound", append([]byte{1, 0, 1, 1, 0, 0, 1, 0x81, 0x02}, make([]byte, 257)...)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := decodePresence(tt.b); !errors.Is(err, errBadPresence) {
				t.Fatalf("decoded %+v, %v; want errBadPresence", p, err)
			}
		})
	}
}

// FuzzPresence: the decoder never panics, rejects with errBadPresence, and
// what it accepts is within bounds and survives a round trip.
func FuzzPresence(f *testing.F) {
	f.Add(appendPresence(nil, &presence{name: "w", id: "abc", host: "h", pid: 1, concurrency: 4, running: 1, held: 2, every: time.Second}))
	f.Add(appendPresence(nil, &presence{id: "z", every: time.Hour, leaving: true, draining: true}))
	f.Add([]byte{})
	f.Add([]byte{1, 0xFF, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePresence(b)
		if err != nil {
			if !errors.Is(err, errBadPresence) {
				t.Fatalf("error %v does not wrap errBadPresence", err)
			}
			return
		}
		if p.id == "" || len(p.id) > maxPresenceID || len(p.name) > maxPresenceName || len(p.host) > maxPresenceHost ||
			!utf8.ValidString(p.name+p.id+p.host) || p.every < time.Millisecond || p.every > maxPresenceEvery ||
			min(p.concurrency, p.running, p.held, p.pid) < 0 || max(p.concurrency, p.running, p.held, p.pid) > maxPresenceCount {
			t.Fatalf("accepted out of bounds: %+v", p)
		}
		again, err := decodePresence(appendPresence(nil, &p))
		if err != nil || again != p {
			t.Fatalf("round trip of %+v: %+v, %v", p, again, err)
		}
	})
}
