// Command processbench compares the process executor (package process) with
// Python's ProcessPoolExecutor and multiprocessing.Pool on this machine, 2
// workers each, in one run, and prints the figures and the ratios:
//
//	cd bench && go run ./cmd/processbench            # about 2 minutes with Python
//	cd bench && go run ./cmd/processbench -python=false
//
// Python's figures come from running the baseline scripts
// (../shared/baselines/python: bench2_processpool.py, bench3_mp_pool.py,
// bench6_startup.py) as subprocesses and parsing their JSON lines.
//
// Workloads (Go side; each is repeated -rounds times, the median is shown):
//   - submit: 20,000 trivial tasks, one executor.Call each, then every result
//     (Python: ProcessPoolExecutor.submit, Pool.imap_unordered chunksize 1).
//   - chunked: 1,000,000 trivial tasks in chunks of 1000 with
//     executor.CallChunk (Python: the best of map/imap_unordered chunksize 1000).
//   - behind: a quick task submitted right after a 50 ms one, on a warm
//     pool, against the quick task's own round trip.
//   - startup: start 2 helpers, run one task, shut down (Python: create a
//     2-worker pool, one task, shutdown; spawn and fork start methods).
//   - primes: the is_prime example over PRIMES, serial Go vs 2 helpers
//     (warm: the pool exists; cold: creating and shutting it down is timed).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofutures/gofutures/bench/internal/pybase"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/internal/primes"
	"github.com/gofutures/gofutures/process"
)

var reg = process.NewRegistry()

var (
	inc     = process.MustRegister(reg, "inc", func(_ context.Context, x int) (int, error) { return x + 1, nil })
	isPrime = process.MustRegister(reg, "isPrime", func(_ context.Context, n int64) (bool, error) { return primes.IsPrime(n), nil })
	sleep   = process.MustRegister(reg, "sleep", func(_ context.Context, d time.Duration) (time.Duration, error) {
		time.Sleep(d)
		return d, nil
	})
)

const workers = 2

func main() {
	process.ServeIfHelper(reg)
	py := flag.Bool("python", true, "run the Python baselines")
	pyDir := flag.String("pydir", "", "directory of the Python baselines (default: ../shared/baselines/python from the repository)")
	rounds := flag.Int("rounds", 5, "rounds of each Go workload (median shown)")
	flag.Parse()
	if err := run(*py, *pyDir, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "processbench:", err)
		os.Exit(1)
	}
}

type pyResult struct {
	Bench       string  `json:"bench"`
	MedianS     float64 `json:"median_s"`
	TasksPerSec float64 `json:"median_tasks_per_s"`
}

func run(withPython bool, pyDir string, rounds int) error {
	ctx := context.Background()
	fmt.Printf("processbench: %d workers, %d rounds each (median); NumCPU %d; load average %s\n\n", workers, rounds, numCPU(), loadavg())
	defer func() { fmt.Printf("load average at the end: %s\n", loadavg()) }()

	submit := median(rounds, func() float64 { return must(benchSubmit(ctx, 20_000)) })
	fmt.Printf("Go  submit, 20,000 trivial tasks one per Call:   %12.0f tasks/s\n", submit)
	chunked := median(rounds, func() float64 { return must(benchChunked(ctx, 1_000_000, 1000)) })
	fmt.Printf("Go  chunks of 1000, 1,000,000 tasks (CallChunk): %12.0f tasks/s\n", chunked)
	own, behind, err := benchBehindSlow(ctx, 20*rounds)
	if err != nil {
		return err
	}
	fmt.Printf("Go  quick task queued behind a 50 ms one:        %12.3f ms  (its own round trip %.3f ms; %.3f ms more)\n", behind*1e3, own*1e3, (behind-own)*1e3)
	startup := median(rounds*2, func() float64 { return must(benchStartup(ctx)) })
	fmt.Printf("Go  start 2 helpers + 1 task + shutdown:         %12.2f ms\n", startup*1e3)
	serial, warm, cold, goroutines, err := benchPrimes(ctx, rounds)
	if err != nil {
		return err
	}
	fmt.Printf("Go  PRIMES serial / 2 helpers warm / cold:       %8.1f / %.1f / %.1f ms  (speedup %.2fx warm, %.2fx cold)\n",
		serial*1e3, warm*1e3, cold*1e3, serial/warm, serial/cold)
	fmt.Printf("    control: PRIMES on executor.GoPool(2):       %8.1f ms  (speedup %.2fx: what this machine allows 2 workers now)\n\n",
		goroutines*1e3, serial/goroutines)

	checks := []check{
		{"submit >= 100,000 tasks/s", submit >= 100_000},
		{"a quick task behind a slow one within 2 ms of its own round trip", behind-own <= 0.002},
		{"startup <= 15 ms", startup <= 0.015},
		{"PRIMES on 2 helpers >= 1.7x serial (warm)", serial/warm >= 1.7},
	}
	if withPython {
		dir, err := findPyDir(pyDir)
		if err != nil {
			return err
		}
		py := map[string]pyResult{}
		for _, script := range []string{"bench2_processpool.py", "bench3_mp_pool.py", "bench6_startup.py"} {
			fmt.Printf("running python3 %s ...\n", script)
			if err := runPython(dir, script, py); err != nil {
				return err
			}
		}
		get := func(prefix string) pyResult {
			for name, r := range py {
				if strings.HasPrefix(name, prefix) {
					return r
				}
			}
			return pyResult{}
		}
		ppeSubmit := get("C2 PPE(2) submit warm")
		imapCS1 := get("C3 Pool(2).imap_unordered cs=1 warm")
		var bestChunk pyResult
		for _, p := range []string{"C2 PPE(2) map_cs1000 warm", "C2L PPE(2) map_cs1000 warm", "C3 Pool(2).imap_unordered cs=1000 warm", "C3L Pool(2).imap_unordered cs=1000 warm"} {
			if r := get(p); r.TasksPerSec > bestChunk.TasksPerSec {
				bestChunk = r
			}
		}
		spawn := get("C6 PPE(2) create+1 task+shutdown [spawn]")
		fork := get("C6 PPE(2) create+1 task+shutdown [fork]")
		poolSpawn := get("C6 mp.Pool(2) create+apply+close/join [spawn]")

		fmt.Println()
		fmt.Printf("%-62s %14s %14s %8s\n", "workload (2 workers; ratio: how many times better Go is)", "Go", "Python", "ratio")
		row := func(name string, goV, pyV float64, unit string) {
			ratio := goV / pyV
			if unit == "ms" {
				ratio = pyV / goV // how many times faster
			}
			fmt.Printf("%-62s %11.1f %-2s %11.1f %-2s %7.2fx\n", name, goV, unit, pyV, unit, ratio)
		}
		row("tasks/s, one per submit vs PPE.submit", submit/1e3, ppeSubmit.TasksPerSec/1e3, "k")
		row("tasks/s, one per submit vs Pool.imap_unordered cs=1", submit/1e3, imapCS1.TasksPerSec/1e3, "k")
		row("tasks/s, chunks of 1000 vs best Python chunked (*)", chunked/1e3, bestChunk.TasksPerSec/1e3, "k")
		row("start 2 workers + 1 task + shutdown vs PPE spawn", startup*1e3, spawn.MedianS*1e3, "ms")
		row("start 2 workers + 1 task + shutdown vs PPE fork", startup*1e3, fork.MedianS*1e3, "ms")
		row("start 2 workers + 1 task + shutdown vs mp.Pool spawn", startup*1e3, poolSpawn.MedianS*1e3, "ms")
		fmt.Printf("(*) %s\n", bestChunk.Bench)
		checks = append(checks,
			check{">= 25x ProcessPoolExecutor.submit", submit >= 25*ppeSubmit.TasksPerSec},
			check{">= 2x Pool.imap_unordered chunksize 1", submit >= 2*imapCS1.TasksPerSec},
			check{"chunks of 1000 >= 2x Python's best chunked", chunked >= 2*bestChunk.TasksPerSec},
		)
	}
	fmt.Println()
	for _, c := range checks {
		mark := "PASS"
		if !c.ok {
			mark = "MISS"
		}
		fmt.Printf("[%s] %s\n", mark, c.name)
	}
	return nil
}

type check struct {
	name string
	ok   bool
}

func numCPU() int { return len(mustRead("/proc/cpuinfo")) }

func mustRead(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "processor") {
			out = append(out, l)
		}
	}
	return out
}

// loadavg returns the 1-minute load average: other work on the machine
// limits what 2 workers can gain (see the GoPool control row).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func must(v float64, err error) float64 {
	if err != nil {
		fmt.Fprintln(os.Stderr, "processbench:", err)
		os.Exit(1)
	}
	return v
}

func median(n int, f func() float64) float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = f()
	}
	slices.Sort(xs)
	return xs[n/2]
}

// warmPool returns a pool whose 2 helpers are both up.
func warmPool(ctx context.Context) (*process.Pool, error) {
	p, err := process.New(reg, process.WithWorkers(workers))
	if err != nil {
		return nil, err
	}
	for len(p.Pids()) < workers {
		fs := make([]*future.Future[int], 8)
		for i := range fs {
			if fs[i], err = executor.Call(ctx, p, inc, i); err != nil {
				return nil, err
			}
		}
		for _, f := range fs {
			if _, err := f.Result(ctx); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func benchSubmit(ctx context.Context, n int) (float64, error) {
	p, err := warmPool(ctx)
	if err != nil {
		return 0, err
	}
	defer p.Shutdown(ctx)
	start := time.Now()
	fs := make([]*future.Future[int], n)
	for i := range fs {
		if fs[i], err = executor.Call(ctx, p, inc, i); err != nil {
			return 0, err
		}
	}
	for i, f := range fs {
		v, err := f.Result(ctx)
		if err != nil || v != i+1 {
			return 0, fmt.Errorf("inc(%d) = %d, %v", i, v, err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func benchChunked(ctx context.Context, n, size int) (float64, error) {
	p, err := warmPool(ctx)
	if err != nil {
		return 0, err
	}
	defer p.Shutdown(ctx)
	args := make([]int, n)
	for i := range args {
		args[i] = i
	}
	start := time.Now()
	var fs []*future.Future[executor.Chunk[int]]
	for i := 0; i < n; i += size {
		f, err := executor.CallChunk(ctx, p, inc, args[i:min(i+size, n)])
		if err != nil {
			return 0, err
		}
		fs = append(fs, f)
	}
	got := 0
	for _, f := range fs {
		c, err := f.Result(ctx)
		if err != nil || c.Errs != nil {
			return 0, fmt.Errorf("chunk: %v %v", err, c.Errs)
		}
		got += c.Len()
	}
	if got != n {
		return 0, fmt.Errorf("%d results for %d tasks", got, n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// benchBehindSlow measures, on a warm pool of 2 helpers, how long a quick
// task takes when it is submitted right after a 50 ms one, against its own
// round trip on the idle pool (medians of n tries each, in seconds).
func benchBehindSlow(ctx context.Context, n int) (own, behind float64, err error) {
	p, err := warmPool(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer p.Shutdown(ctx)
	quick := func() (float64, error) {
		start := time.Now()
		f, err := executor.Call(ctx, p, inc, 1)
		if err != nil {
			return 0, err
		}
		if _, err := f.Result(ctx); err != nil {
			return 0, err
		}
		return time.Since(start).Seconds(), nil
	}
	owns, behinds := make([]float64, n), make([]float64, n)
	for i := range n {
		if owns[i], err = quick(); err != nil {
			return 0, 0, err
		}
		slow, err := executor.Call(ctx, p, sleep, 50*time.Millisecond)
		if err != nil {
			return 0, 0, err
		}
		if behinds[i], err = quick(); err != nil {
			return 0, 0, err
		}
		if _, err := slow.Result(ctx); err != nil {
			return 0, 0, err
		}
	}
	slices.Sort(owns)
	slices.Sort(behinds)
	return owns[n/2], behinds[n/2], nil
}

func benchStartup(ctx context.Context) (float64, error) {
	start := time.Now()
	p, err := process.New(reg, process.WithWorkers(workers))
	if err != nil {
		return 0, err
	}
	f, err := executor.Call(ctx, p, inc, 1)
	if err != nil {
		return 0, err
	}
	if v, err := f.Result(ctx); err != nil || v != 2 {
		return 0, fmt.Errorf("inc(1) = %d, %v", v, err)
	}
	if err := p.Shutdown(ctx); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

func primesOn(ctx context.Context, p executor.Executor) error {
	fs := make([]*future.Future[bool], len(primes.PRIMES))
	var err error
	for i, n := range primes.PRIMES {
		if fs[i], err = executor.Call(ctx, p, isPrime, n); err != nil {
			return err
		}
	}
	for i, f := range fs {
		v, err := f.Result(ctx)
		if err != nil || v != (i < 5) {
			return fmt.Errorf("isPrime(%d) = %v, %v", primes.PRIMES[i], v, err)
		}
	}
	return nil
}

// benchPrimes interleaves serial, warm and cold rounds so that the machine's
// noise hits them alike, and returns the medians in seconds.
func benchPrimes(ctx context.Context, rounds int) (serial, warm, cold, goroutines float64, err error) {
	var ss, ws, cs, gs []float64
	p, err := warmPool(ctx)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer p.Shutdown(ctx)
	gp, err := executor.NewGoPool(executor.WithWorkers(workers))
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer gp.Shutdown(ctx)
	for range rounds {
		start := time.Now()
		for i, n := range primes.PRIMES {
			if primes.IsPrime(n) != (i < 5) {
				return 0, 0, 0, 0, fmt.Errorf("IsPrime(%d) wrong", n)
			}
		}
		ss = append(ss, time.Since(start).Seconds())

		start = time.Now()
		if err := primesOn(ctx, p); err != nil {
			return 0, 0, 0, 0, err
		}
		ws = append(ws, time.Since(start).Seconds())

		start = time.Now()
		q, err := process.New(reg, process.WithWorkers(workers))
		if err != nil {
			return 0, 0, 0, 0, err
		}
		if err := primesOn(ctx, q); err != nil {
			return 0, 0, 0, 0, err
		}
		if err := q.Shutdown(ctx); err != nil {
			return 0, 0, 0, 0, err
		}
		cs = append(cs, time.Since(start).Seconds())

		start = time.Now()
		if err := primesOn(ctx, gp); err != nil {
			return 0, 0, 0, 0, err
		}
		gs = append(gs, time.Since(start).Seconds())
	}
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	return med(ss), med(ws), med(cs), med(gs), nil
}

func findPyDir(dir string) (string, error) {
	script, err := pybase.Find(dir, "bench2_processpool.py")
	return filepath.Dir(script), err
}

func runPython(dir, script string, into map[string]pyResult) error {
	cmd := exec.Command("python3", script)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var r pyResult
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Bench != "" {
			into[r.Bench] = r
		}
	}
	return cmd.Wait()
}
