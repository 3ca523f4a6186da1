// Command clusterbench compares gofutures' cluster executor (NATS JetStream,
// embedded server, 2 worker processes on this machine) with Python's
// multiprocessing.managers master/worker (a task queue and a result queue
// over TCP with an authkey, 2 worker processes):
// /work/shared/baselines/python/bench7_managers.py.
//
// Both run the trivial task n -> n*n: one task per message (submit n tasks,
// then wait for every result), and chunks of 1000 tasks per message. The
// executor and its workers are started outside the timed region, as the
// Python manager and workers are. The median of the rounds is printed as a
// Markdown table with the ratio to Python.
//
//	cd bench && go run ./cmd/clusterbench                 # memory storage, 3 rounds, with Python
//	cd bench && go run ./cmd/clusterbench -storage file   # file storage
//	cd bench && go run ./cmd/clusterbench -quick          # CI: 1 round, no Python
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

var (
	reg    = process.NewRegistry()
	square = process.MustRegister(reg, "bench.square", func(_ context.Context, n int) (int, error) { return n * n, nil })
)

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
	quick := flag.Bool("quick", false, "CI mode: 1 round, n 5000, chunk-n 100000, no Python")
	withPython := flag.Bool("python", true, "also run Python's managers baseline")
	pythonBin := flag.String("python-bin", "python3", "Python interpreter")
	script := flag.String("python-script", "/work/shared/baselines/python/bench7_managers.py", "Python baseline script")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the submitter's measured rounds to this file")
	flag.Parse()
	if *quick {
		*runs, *n, *chunkN, *withPython = 1, 5000, 100_000, false
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
	if err := ex.Shutdown(ctx); err != nil {
		fatalf("shutdown: %v", err)
	}

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
