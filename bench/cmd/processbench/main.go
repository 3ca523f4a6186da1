// Command processbench compares the process executor (package process) with
// Python's ProcessPoolExecutor and multiprocessing.Pool on this machine, 2
// workers each, in one run, and prints the figures, the ratios, the peak
// memory of each workload, and our figures as multiples of two floors
// measured in the same run:
//
//	cd bench && go run ./cmd/processbench            # about 2 minutes with Python
//	cd bench && go run ./cmd/processbench -python=false
//
// Python's figures come from running the baseline scripts
// (../shared/baselines/python: bench2_processpool.py, bench3_mp_pool.py,
// bench6_startup.py) as subprocesses and parsing their JSON lines.
//
// Workloads (Go side; each is repeated -rounds times, the median is shown),
// each in a process of its own (this program, with -variant), so that its
// peak memory is its own: "host MB" is that process's peak RSS (VmHWM in
// /proc/self/status), "helper MB" the largest peak RSS of its helpers
// (their VmHWM, read before each pool's shutdown; for floor (a), the
// minimal program's). Not getrusage's ru_maxrss: on Linux a child that
// os/exec starts (clone with CLONE_VM, then exec) counts its parent's RSS
// at the exec as its own maximum, and RUSAGE_SELF of a process so started
// does too.
//   - submit: 20,000 trivial tasks, one executor.Call each, then every result
//     (Python: ProcessPoolExecutor.submit, Pool.imap_unordered chunksize 1).
//   - chunked: 1,000,000 trivial tasks in chunks of 1000 with
//     executor.CallChunk (Python: the best of map/imap_unordered chunksize 1000).
//   - behind: a quick task submitted right after a 50 ms one, on a warm
//     pool, against the quick task's own round trip.
//   - startup: start 2 helpers, run one task, shut down (Python: create a
//     2-worker pool, one task, shutdown; spawn and fork start methods), with
//     this program as the helper (the default) and with the lean helper
//     binary of ./helper (process.WithHelper), which this program builds.
//   - primes: the is_prime example over PRIMES, serial Go vs 2 helpers
//     (warm: the pool exists; cold: creating and shutting it down is timed).
//
// The floors:
//   - (a) start-up: exec of a minimal Go program, one byte to it and back
//     on pipes, and its exit (package floor builds the program);
//   - (b) one-per-submit tasks: the gob encodes and decodes of a trivial
//     task's call and reply frames, in the wire protocol's framing, on 2
//     goroutines at once, plus the cost of streaming those frames' bytes
//     through 2 pairs of pipes (floor.MeasureCodec).
//
// cmd/startupprobe shows where the start-up time goes.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofutures/gofutures/bench/internal/benchfuncs"
	"github.com/gofutures/gofutures/bench/internal/floor"
	"github.com/gofutures/gofutures/bench/internal/pybase"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/internal/primes"
	"github.com/gofutures/gofutures/process"
)

var (
	reg     = benchfuncs.Registry
	inc     = benchfuncs.Inc
	isPrime = benchfuncs.IsPrime
	sleep   = benchfuncs.Sleep
)

const workers = 2

func main() {
	benchfuncs.MainAt = benchfuncs.Mono()
	process.ServeIfHelper(reg)
	py := flag.Bool("python", true, "run the Python baselines")
	pyDir := flag.String("pydir", "", "directory of the Python baselines (default: ../shared/baselines/python from the repository)")
	rounds := flag.Int("rounds", 5, "rounds of each Go workload (median shown)")
	variant := flag.String("variant", "", "run this one workload and print its figures as JSON (the parent run does)")
	lean := flag.String("lean", "", "the lean helper binary (with -variant)")
	tiny := flag.String("floor", "", "the minimal program of floor (a) (with -variant)")
	flag.Parse()
	var err error
	if *variant != "" {
		err = runVariant(*variant, *rounds, *lean, *tiny)
	} else {
		err = run(*py, *pyDir, *rounds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "processbench:", err)
		os.Exit(1)
	}
}

type pyResult struct {
	Bench       string  `json:"bench"`
	MedianS     float64 `json:"median_s"`
	TasksPerSec float64 `json:"median_tasks_per_s"`
}

// result is what a variant's process prints: its figures, and its peak RSS
// and the largest of its helpers', in KiB (VmHWM).
type result struct {
	Values  map[string]float64 `json:"values"`
	SelfKB  int64              `json:"self_peak_kb"`
	ChildKB int64              `json:"helper_peak_kb"`
	Variant string             `json:"variant"`
}

func (r result) hostMB() float64   { return float64(r.SelfKB) / 1024 }
func (r result) helperMB() float64 { return float64(r.ChildKB) / 1024 }

// runVariant runs one workload in this process and prints its result.
func runVariant(name string, rounds int, lean, tiny string) error {
	ctx := context.Background()
	v := map[string]float64{}
	var err error
	switch name {
	case "floor-exec":
		fl := floor.At(tiny)
		v["ms"] = median(rounds*4, func() float64 {
			d, err := fl.Exec()
			return must(float64(d)/1e6, err)
		})
		kb, err := fl.PeakKB()
		if err != nil {
			return err
		}
		helperPeakKB = kb
	case "floor-codec":
		var cs []floor.Codec
		for range rounds {
			c, err := floor.MeasureCodec(workers, 100_000, 64)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		slices.SortFunc(cs, func(a, b floor.Codec) int { return cmp.Compare(a.Floor, b.Floor) })
		c := cs[len(cs)/2]
		v["floor"], v["encode"], v["pipe"], v["bytes"] = c.Floor, c.Encode, c.Pipe, float64(c.FrameLen)
	case "submit":
		v["tasks/s"] = median(rounds, func() float64 { return must(benchSubmit(ctx, 20_000)) })
	case "chunked":
		v["tasks/s"] = median(rounds, func() float64 { return must(benchChunked(ctx, 1_000_000, 1000)) })
	case "behind":
		v["own"], v["behind"], err = benchBehindSlow(ctx, 20*rounds)
	case "startup":
		v["ms"] = 1e3 * median(rounds*2, func() float64 { return must(benchStartup(ctx)) })
	case "startup-lean":
		if lean == "" {
			return fmt.Errorf("startup-lean needs -lean")
		}
		v["ms"] = 1e3 * median(rounds*2, func() float64 { return must(benchStartup(ctx, process.WithHelper(lean))) })
	case "primes":
		v["serial"], v["warm"], v["cold"], v["goroutines"], err = benchPrimes(ctx, rounds)
	default:
		return fmt.Errorf("unknown variant %q", name)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{Values: v, SelfKB: vmHWM(0), ChildKB: helperPeakKB, Variant: name})
}

// variant runs a workload in a process of its own and returns its result.
func variant(name string, rounds int, lean, tiny string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "-variant", name, "-rounds", strconv.Itoa(rounds), "-lean", lean, "-floor", tiny)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("variant %s: %w", name, err)
	}
	var r result
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return result{}, fmt.Errorf("variant %s: %w in %q", name, err, out)
	}
	return r, nil
}

func run(withPython bool, pyDir string, rounds int) error {
	fmt.Printf("processbench: %d workers, %d rounds each (median); NumCPU %d; load average %s\n", workers, rounds, numCPU(), loadavg())
	fmt.Printf("each workload runs in a process of its own: host MB = its peak RSS, helper MB = the largest peak RSS of its helpers (VmHWM, read before each shutdown)\n\n")
	defer func() { fmt.Printf("load average at the end: %s\n", loadavg()) }()
	dir, err := os.MkdirTemp("", "processbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lean, err := floor.Build(dir, "github.com/gofutures/gofutures/bench/cmd/processbench/helper")
	if err != nil {
		return err
	}
	tiny, err := floor.New()
	if err != nil {
		return err
	}
	defer tiny.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	size := func(path string) float64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return float64(fi.Size()) / 1e6
	}
	rs := map[string]result{}
	for _, name := range []string{"floor-exec", "floor-codec", "submit", "chunked", "behind", "startup", "startup-lean", "primes"} {
		r, err := variant(name, rounds, lean, tiny.Path())
		if err != nil {
			return err
		}
		rs[name] = r
	}
	fa, fb := rs["floor-exec"].Values["ms"], rs["floor-codec"].Values["floor"]
	line := func(name string, figure string, r result, vs string) {
		fmt.Printf("%-50s %-22s %7.1f %9.1f   %s\n", name, figure, r.hostMB(), r.helperMB(), vs)
	}
	fmt.Printf("%-50s %-22s %7s %9s   %s\n", "workload", "figure", "host MB", "helper MB", "vs floor")
	fc := rs["floor-codec"]
	line("floor (a): exec minimal Go + 1 byte back + exit", fmt.Sprintf("%8.2f ms", fa), rs["floor-exec"], "")
	line("floor (b): codec of one-per-submit tasks", fmt.Sprintf("%8.0f tasks/s", fb), fc,
		fmt.Sprintf("(gob %.0f/s on %d goroutines; %0.f B/task through pipes %.0f/s)", fc.Values["encode"], workers, fc.Values["bytes"], fc.Values["pipe"]))
	submit := rs["submit"].Values["tasks/s"]
	line("submit, 20,000 trivial tasks one per Call", fmt.Sprintf("%8.0f tasks/s", submit), rs["submit"], fmt.Sprintf("%.3fx floor (b)", submit/fb))
	chunked := rs["chunked"].Values["tasks/s"]
	line("chunks of 1000, 1,000,000 tasks (CallChunk)", fmt.Sprintf("%8.0f tasks/s", chunked), rs["chunked"], "")
	own, behind := rs["behind"].Values["own"], rs["behind"].Values["behind"]
	line("quick task queued behind a 50 ms one", fmt.Sprintf("%8.3f ms", behind*1e3), rs["behind"], fmt.Sprintf("(its own round trip %.3f ms; %.3f ms more)", own*1e3, (behind-own)*1e3))
	startup, startLean := rs["startup"].Values["ms"], rs["startup-lean"].Values["ms"]
	line(fmt.Sprintf("start 2 helpers + 1 task + shutdown (%.1f MB self)", size(self)), fmt.Sprintf("%8.2f ms", startup), rs["startup"], fmt.Sprintf("%.2fx floor (a)", startup/fa))
	line(fmt.Sprintf("  the same, lean helper (%.1f MB, WithHelper)", size(lean)), fmt.Sprintf("%8.2f ms", startLean), rs["startup-lean"], fmt.Sprintf("%.2fx floor (a)", startLean/fa))
	pv := rs["primes"].Values
	serial, warm, cold, goroutines := pv["serial"], pv["warm"], pv["cold"], pv["goroutines"]
	line("PRIMES serial / 2 helpers warm / cold", fmt.Sprintf("%.1f/%.1f/%.1f ms", serial*1e3, warm*1e3, cold*1e3), rs["primes"], fmt.Sprintf("(speedup %.2fx warm, %.2fx cold)", serial/warm, serial/cold))
	fmt.Printf("    control: PRIMES on executor.GoPool(2): %.1f ms (speedup %.2fx: what this machine allows 2 workers now)\n\n", goroutines*1e3, serial/goroutines)

	checks := []check{
		{"submit >= 100,000 tasks/s", submit >= 100_000},
		{"submit >= 0.5x floor (b)", submit >= 0.5*fb},
		{"a quick task behind a slow one within 2 ms of its own round trip", behind-own <= 0.002},
		{"startup <= 15 ms", startup <= 0.015*1e3},
		{"startup <= 3x floor (a)", startup <= 3*fa},
		{"startup, lean helper <= 3x floor (a)", startLean <= 3*fa},
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
		row("start 2 workers + 1 task + shutdown vs PPE spawn", startup, spawn.MedianS*1e3, "ms")
		row("start 2 workers + 1 task + shutdown vs PPE fork", startup, fork.MedianS*1e3, "ms")
		row("start 2 workers + 1 task + shutdown vs mp.Pool spawn", startup, poolSpawn.MedianS*1e3, "ms")
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
func warmPool(ctx context.Context) (*process.Executor, error) {
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
	defer shutdown(ctx, p)
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
	defer shutdown(ctx, p)
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
	defer shutdown(ctx, p)
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

func benchStartup(ctx context.Context, opts ...process.Option) (float64, error) {
	start := time.Now()
	p, err := process.New(reg, append([]process.Option{process.WithWorkers(workers)}, opts...)...)
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
	took := time.Since(start)
	d, err := shutdown(ctx, p)
	return (took + d).Seconds(), err
}

// helperPeakKB is the largest peak RSS seen of a helper, in KiB.
var helperPeakKB int64

// shutdown notes the peak RSS of p's helpers (which only grows), then shuts
// p down and returns how long the shutdown took.
func shutdown(ctx context.Context, p *process.Executor) (time.Duration, error) {
	for _, pid := range p.Pids() {
		helperPeakKB = max(helperPeakKB, vmHWM(pid))
	}
	start := time.Now()
	err := p.Shutdown(ctx)
	return time.Since(start), err
}

// vmHWM returns the peak RSS (VmHWM) of process pid (0: this one) in KiB,
// 0 if it cannot be read. Linux's ru_maxrss is no use here: a child started
// by os/exec (clone with CLONE_VM, then exec) counts the parent's RSS at
// the exec as its own maximum.
func vmHWM(pid int) int64 {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
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
	defer shutdown(ctx, p)
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
		took := time.Since(start)
		d, err := shutdown(ctx, q)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		cs = append(cs, (took + d).Seconds())

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
