// Command cancelbench measures how long cancellation takes to reach a
// running task: the latency from cancel() of the ctx a task was submitted
// with to the moment the task sees ctx.Done(). It prints the median, the
// 90th percentile and the maximum over -tries tries (after a tenth more as
// warm-up), and checks the 90th percentile against the goal, for:
//
//   - GoPool running: a task on executor.GoPool signals that it started,
//     waits on <-ctx.Done() and records when it woke (goal ≤ 50 µs);
//   - GoPool queued: a task waiting in the queue behind a busy worker,
//     from cancel() to its future failing with the ctx's cause (it never runs);
//   - process running: a function registered with process.MustRegister runs
//     in a helper process, writes a byte to a FIFO when it starts, waits on
//     <-ctx.Done() and writes the wall-clock time it saw it (time.Now, the
//     same clock as the host's, which reads the FIFO) (goal ≤ 1 ms). A
//     cancellation that does not reach the helper within -wait is reported
//     as "not delivered" and that case stops, instead of hanging.
//
// Each try is one event-driven round (start, cancel, observe): no sleeps.
//
//	cd bench && go run ./cmd/cancelbench               # 200 tries per case
//	cd bench && go run ./cmd/cancelbench -tries 50 -wait 5s
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

var reg = process.NewRegistry()

// waitDone runs in a helper process: it opens the FIFO fifo, writes one
// byte ("started"), waits for its ctx to end and writes the wall-clock time,
// in nanoseconds since the epoch, at which it saw it.
var waitDone = process.MustRegister(reg, "cancelbench.waitDone", func(ctx context.Context, fifo string) (int, error) {
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Write([]byte{'S'}); err != nil {
		return 0, err
	}
	<-ctx.Done()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
	if _, err := f.Write(b[:]); err != nil {
		return 0, err
	}
	return 0, ctx.Err()
})

func main() {
	process.ServeIfHelper(reg)
	tries := flag.Int("tries", 200, "tries per case")
	wait := flag.Duration("wait", 2*time.Second, "how long a cancellation may take to arrive before it counts as not delivered")
	withProcess := flag.Bool("process", true, "measure the process executor too")
	flag.Parse()
	if *tries <= 0 {
		fatalf("-tries must be > 0")
	}
	fmt.Printf("cancelbench: %d tries per case; %s %s/%s, NumCPU=%d GOMAXPROCS=%d; load average %s; %s\n\n",
		*tries, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		loadavg(), time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| case | tries | median | p90 | max | goal | verdict |")
	fmt.Println("|---|---:|---:|---:|---:|---:|:---:|")
	row("GoPool: running task sees ctx.Done()", 50*time.Microsecond, must(goPoolRunning(*tries)))
	row("GoPool: queued task's future fails (never runs)", 50*time.Microsecond, must(goPoolQueued(*tries, *wait)))
	if *withProcess {
		lat, err := processRunning(*tries, *wait)
		switch {
		case errors.Is(err, errNotDelivered):
			fmt.Printf("| process: running task sees ctx.Done() | %d | — | — | — | 1ms | **not delivered within %v** (%v) |\n", len(lat), *wait, err)
		case err != nil:
			fatalf("process: %v", err)
		default:
			row("process: running task sees ctx.Done() (helper's clock)", time.Millisecond, lat)
		}
	}
	fmt.Printf("\nload average at the end: %s\n", loadavg())
}

var errNotDelivered = errors.New("cancellation not delivered")

// goPoolRunning: a task signals it started, waits on its ctx and records
// when it woke; the latency is from just before cancel() to that moment.
func goPoolRunning(tries int) ([]time.Duration, error) {
	p, err := executor.NewGoPool(executor.WithWorkers(2))
	if err != nil {
		return nil, err
	}
	defer p.Shutdown(context.Background())
	started := make(chan struct{})
	woke := make(chan time.Time, 1)
	task := func(ctx context.Context) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		woke <- time.Now()
		return 0, ctx.Err()
	}
	lat := make([]time.Duration, 0, tries)
	for i := range tries + tries/10 { // the first tenth warms up
		ctx, cancel := context.WithCancel(context.Background())
		f, err := executor.Submit(ctx, p, task)
		if err != nil {
			cancel()
			return nil, err
		}
		<-started
		t0 := time.Now()
		cancel()
		t1 := <-woke
		if err := f.Err(context.Background()); !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("the task's future: %v, want context.Canceled", err)
		}
		if i >= tries/10 {
			lat = append(lat, t1.Sub(t0))
		}
	}
	return lat, nil
}

// goPoolQueued: the only worker is busy, a task waits in the queue; the
// latency is from just before cancel() to its future being done.
func goPoolQueued(tries int, wait time.Duration) ([]time.Duration, error) {
	p, err := executor.NewGoPool(executor.WithWorkers(1))
	if err != nil {
		return nil, err
	}
	defer p.Shutdown(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	if _, err := executor.Submit(context.Background(), p, func(context.Context) (int, error) {
		close(started)
		<-release
		return 0, nil
	}); err != nil {
		return nil, err
	}
	<-started
	ran := 0
	lat := make([]time.Duration, 0, tries)
	for i := range tries + tries/10 {
		ctx, cancel := context.WithCancel(context.Background())
		f, err := executor.Submit(ctx, p, func(context.Context) (int, error) { ran++; return 0, nil })
		if err != nil {
			cancel()
			return nil, err
		}
		done := f.Done()
		t0 := time.Now()
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			return nil, fmt.Errorf("a queued task was not removed within %v", wait)
		}
		if i >= tries/10 {
			lat = append(lat, time.Since(t0))
		}
		if err := f.Err(context.Background()); !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("the queued task's future: %v, want context.Canceled", err)
		}
	}
	if ran != 0 {
		return nil, fmt.Errorf("%d cancelled queued tasks ran", ran)
	}
	return lat, nil
}

// processRunning: waitDone in a helper process. The host holds the FIFO open
// for reading and writing (so neither side's open blocks), reads the start
// byte, cancels, and reads the time the helper saw ctx.Done().
func processRunning(tries int, wait time.Duration) ([]time.Duration, error) {
	dir, err := os.MkdirTemp("", "cancelbench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return nil, err
	}
	r, err := os.OpenFile(fifo, os.O_RDWR, 0) // a FIFO: pollable, so deadlines work
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := process.New(reg, process.WithWorkers(1))
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = p.Shutdown(context.Background())
		}
	}()
	read := func(b []byte, within time.Duration) error {
		if err := r.SetReadDeadline(time.Now().Add(within)); err != nil {
			return err
		}
		_, err := io.ReadFull(r, b)
		return err
	}
	lat := make([]time.Duration, 0, tries)
	for i := range tries + tries/10 {
		ctx, cancel := context.WithCancel(context.Background())
		f, err := executor.Call(ctx, p, waitDone, fifo)
		if err != nil {
			cancel()
			return lat, err
		}
		var b [8]byte
		within := 10 * time.Second // the first call starts the helper
		if i > 0 {
			within = wait
		}
		if err := read(b[:1], within); err != nil {
			cancel()
			return lat, fmt.Errorf("the helper did not start the task: %w", err)
		}
		t0 := time.Now()
		cancel()
		if err := read(b[:], wait); err != nil {
			// Not delivered: kill the helper, which waits for ever.
			stopped = true
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = p.Stop(sctx)
			scancel()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return lat, fmt.Errorf("%w: try %d", errNotDelivered, i+1)
			}
			return lat, err
		}
		seen := time.Unix(0, int64(binary.LittleEndian.Uint64(b[:])))
		if err := f.Err(context.Background()); err == nil {
			return lat, errors.New("the helper's task succeeded, want its ctx's error")
		}
		if i >= tries/10 {
			lat = append(lat, seen.Sub(t0))
		}
	}
	return lat, nil
}

func row(name string, goal time.Duration, lat []time.Duration) {
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[min(len(lat)-1, int(f*float64(len(lat))))] }
	med, p90, hi := q(0.5), q(0.9), lat[len(lat)-1]
	verdict := "**PASS**"
	if p90 > goal {
		verdict = "**MISS**"
	}
	fmt.Printf("| %s | %d | %s | %s | %s | %s | %s |\n", name, len(lat), us(med), us(p90), us(hi), goal, verdict)
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func must(lat []time.Duration, err error) []time.Duration {
	if err != nil {
		fatalf("%v", err)
	}
	return lat
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cancelbench: "+format+"\n", args...)
	os.Exit(1)
}
