// Command clusterbench compares gofutures' cluster executor (NATS JetStream,
// embedded server, 2 worker processes on this machine) with Python's
// multiprocessing.managers master/worker (a task queue and a result queue
// over TCP with an authkey, 2 worker processes):
// ../shared/baselines/python/bench7_managers.py (found beside the checkout).
//
// Both run the trivial task n -> n*n: one task per message (submit n tasks,
// then wait for every result), and chunks of 1000 tasks per message. The
// executor and its workers are started outside the timed region, as the
// Python manager and workers are. The median of the rounds is printed as a
// Markdown table with the ratio to Python.
//
// Then it measures how long the cancellation of a submit ctx takes to reach
// a task running on a worker process: a task reports over UDP that it
// started, the program cancels its ctx, and the task reports when it sees
// ctx.Done(), with its clock (the same machine's); the median of -cancel-n
// tasks is printed, and the time until the future failed.
//
//	cd bench && go run ./cmd/clusterbench                 # memory storage, 3 rounds, with Python
//	cd bench && go run ./cmd/clusterbench -storage file   # file storage
//	cd bench && go run ./cmd/clusterbench -quick          # CI: 1 round, no Python
//	cd bench && go run ./cmd/clusterbench -python=false   # no Python
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/bench/internal/pybase"
	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

var (
	reg    = process.NewRegistry()
	square = process.MustRegister(reg, "bench.square", func(_ context.Context, n int) (int, error) { return n * n, nil })
	// awaitCancel reports "s <id>" when it starts and "d <id> <unix nanos>"
	// when it sees its ctx end, to the UDP address of the probe.
	awaitCancel = process.MustRegister(reg, "bench.awaitCancel", func(ctx context.Context, p probe) (int, error) {
		c, err := net.Dial("udp", p.Addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "s %d", p.ID); err != nil {
			return 0, err
		}
		<-ctx.Done()
		seen := time.Now().UnixNano()
		_, _ = fmt.Fprintf(c, "d %d %d", p.ID, seen)
		return 0, ctx.Err()
	})
)

// probe is the argument of awaitCancel.
type probe struct {
	Addr string
	ID   int
}

func main() {
	cluster.ServeIfWorker(reg) // the worker processes
	n := flag.Int("n", 20_000, "tasks per one-task-per-message measurement (Python's N is 20,000)")
	chunkN := flag.Int("chunk-n", 1_000_000, "items per chunked measurement")
	chunk := flag.Int("chunk", 1000, "items per message in the chunked measurement")
	runs := flag.Int("runs", 3, "rounds; the median is printed")
	storage := flag.String("storage", "memory", "JetStream storage: memory or file")
	workers := flag.Int("workers", 2, "worker processes")
	conc := flag.Int("concurrency", 2, "tasks each worker runs at once")
	prefetch := flag.Int("prefetch", 256, "tasks each worker holds beyond those running")
	cancelN := flag.Int("cancel-n", 50, "tasks for the cancel latency measurement (0: skip it)")
	quick := flag.Bool("quick", false, "CI mode: 1 round, n 5000, chunk-n 100000, cancel-n 20, no Python")
	withPython := flag.Bool("python", true, "also run Python's managers baseline")
	pythonBin := flag.String("python-bin", "python3", "Python interpreter")
	script := flag.String("python-script", "", "Python baseline script (default: shared/baselines/python/bench7_managers.py beside the checkout)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the submitter's measured rounds to this file")
	flag.Parse()
	if *script == "" {
		found, err := pybase.Find("", "bench7_managers.py")
		if err != nil {
			fmt.Fprintln(os.Stderr, err) // the Python comparison fails without it
		}
		*script = found
	}
	if *quick {
		*runs, *n, *chunkN, *withPython = 1, 5000, 100_000, false
		*cancelN = min(*cancelN, 20)
	}
	st := cluster.MemoryStorage
	if *storage == "file" {
		st = cluster.FileStorage
	}

	ctx := context.Background()
	ex, err := cluster.New(ctx, reg, cluster.WithWorkerProcesses(*workers), cluster.WithConcurrency(*conc),
		cluster.WithPrefetch(*prefetch), cluster.WithStorage(st))
	if err != nil {
		fatalf("%v", err)
	}
	defer func() { _ = ex.Stop(ctx) }()

	// Warm up: workers connected, code paths hot.
	if _, err := oneByOne(ctx, ex, 2000); err != nil {
		fatalf("warm-up: %v", err)
	}
	var single, chunked []float64
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatalf("%v", err)
		}
		_ = pprof.StartCPUProfile(f)
		defer f.Close()
	}
	for range *runs {
		d, err := oneByOne(ctx, ex, *n)
		if err != nil {
			fatalf("%v", err)
		}
		single = append(single, float64(*n)/d.Seconds())
		d, err = chunks(ctx, ex, *chunkN, *chunk)
		if err != nil {
			fatalf("%v", err)
		}
		chunked = append(chunked, float64(*chunkN)/d.Seconds())
	}
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	var seen, failed []time.Duration
	if *cancelN > 0 {
		if seen, failed, err = cancelLatency(ctx, ex, *cancelN); err != nil {
			fatalf("cancel latency: %v", err)
		}
	}
	if err := ex.Shutdown(ctx); err != nil {
		fatalf("shutdown: %v", err)
	}
	// Peak resident memory, now that the worker processes have been reaped
	// (and before Python runs): this process with the embedded server, and
	// the largest worker process.
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)

	var py map[string]float64
	if *withPython {
		if py, err = runPython(*pythonBin, *script, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "python baseline:", err)
		}
	}
	fmt.Printf("\ncluster executor: embedded NATS (%s storage), %d worker processes x %d, prefetch %d; median of %d rounds\n\n",
		*storage, *workers, *conc, *prefetch, *runs)
	fmt.Println("| workload | gofutures cluster | Python managers | ratio |")
	fmt.Println("|---|---|---|---|")
	row("1 task per message (tasks/s)", median(single), py["managers_queue_chunk1"])
	row(fmt.Sprintf("%d tasks per message (items/s)", *chunk), median(chunked), py[fmt.Sprintf("managers_queue_chunk%d", *chunk)])
	fmt.Printf("\npeak RSS: submitter with the embedded server %.0f MiB, largest worker process %.0f MiB\n",
		float64(self.Maxrss)/1024, float64(kids.Maxrss)/1024)
	if len(seen) > 0 {
		fmt.Printf("\ncancel() of the submit ctx, %d tasks running on a worker process one at a time (goal: <= 20 ms):\n\n", len(seen))
		fmt.Println("| until | median | p90 | max |")
		fmt.Println("|---|---|---|---|")
		latRow("the worker's task sees ctx.Done()", seen)
		latRow("the future fails (context.Canceled)", failed)
	}
}

func latRow(name string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }
	fmt.Printf("| %s | %s | %s | %s |\n", name, ms(s[len(s)/2]), ms(s[len(s)*9/10]), ms(s[len(s)-1]))
}

// cancelLatency runs n awaitCancel tasks one after the other; for each it
// waits until the task reports it started, cancels its ctx, and records how
// long until the task saw ctx.Done() (by its own clock: same machine) and
// until the future failed.
func cancelLatency(ctx context.Context, ex executor.Executor, n int) (seen, failed []time.Duration, err error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer pc.Close()
	buf := make([]byte, 128)
	read := func(prefix string) (string, error) {
		for {
			_ = pc.SetReadDeadline(time.Now().Add(30 * time.Second))
			k, _, err := pc.ReadFrom(buf)
			if err != nil {
				return "", fmt.Errorf("waiting for %q: %w", prefix, err)
			}
			if msg := string(buf[:k]); strings.HasPrefix(msg, prefix) {
				return msg[len(prefix):], nil
			}
		}
	}
	for i := range n {
		cctx, cancel := context.WithCancel(ctx)
		f, err := executor.Call(cctx, ex, awaitCancel, probe{Addr: pc.LocalAddr().String(), ID: i})
		if err != nil {
			cancel()
			return nil, nil, err
		}
		if _, err := read(fmt.Sprintf("s %d", i)); err != nil {
			cancel()
			return nil, nil, err
		}
		t0 := time.Now()
		cancel()
		<-f.Done()
		failed = append(failed, time.Since(t0))
		if err := f.Err(ctx); !errors.Is(err, context.Canceled) {
			return nil, nil, fmt.Errorf("task %d: future error %v, want context.Canceled", i, err)
		}
		at, err := read(fmt.Sprintf("d %d ", i))
		if err != nil {
			return nil, nil, err
		}
		ns, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("task %d: bad report %q", i, at)
		}
		seen = append(seen, time.Unix(0, ns).Sub(t0))
	}
	return seen, failed, nil
}

func row(name string, ours, py float64) {
	if py == 0 {
		fmt.Printf("| %s | %.0f | - | - |\n", name, ours)
		return
	}
	fmt.Printf("| %s | %.0f | %.0f | %.1fx |\n", name, ours, py, ours/py)
}

// oneByOne submits n tasks, one message each, then waits for all.
func oneByOne(ctx context.Context, ex executor.Executor, n int) (time.Duration, error) {
	futs := make([]*future.Future[int], n)
	t0 := time.Now()
	for i := range n {
		f, err := executor.Call(ctx, ex, square, i)
		if err != nil {
			return 0, err
		}
		futs[i] = f
	}
	for i, f := range futs {
		if v, err := f.Result(ctx); err != nil || v != i*i {
			return 0, fmt.Errorf("task %d: %d, %v", i, v, err)
		}
	}
	return time.Since(t0), nil
}

// chunks submits n items in messages of size items, then waits for all.
func chunks(ctx context.Context, ex executor.Executor, n, size int) (time.Duration, error) {
	args := make([]int, n)
	for i := range args {
		args[i] = i
	}
	var futs []*future.Future[executor.Chunk[int]]
	t0 := time.Now()
	for lo := 0; lo < n; lo += size {
		f, err := executor.CallChunk(ctx, ex, square, args[lo:min(lo+size, n)])
		if err != nil {
			return 0, err
		}
		futs = append(futs, f)
	}
	for j, f := range futs {
		c, err := f.Result(ctx)
		if err != nil || c.Errs != nil || c.Len() != min(size, n-j*size) || c.Values[0] != (j*size)*(j*size) {
			return 0, fmt.Errorf("chunk %d: len %d, %v", j, c.Len(), err)
		}
	}
	return time.Since(t0), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "clusterbench: "+format+"\n", args...)
	os.Exit(1)
}
