// Command poolbench compares package pool with a hand-written errgroup +
// channels version of the same work and with Python's
// multiprocessing.Pool(2).imap_unordered, over trivial items (x + 1).
//
// For chunk sizes 1 and 1000 it times, on a goroutine executor of -workers
// workers: pool.ImapUnordered over a lazy input of -n items, pool.Map over a
// slice of -n items, and the hand-written equivalents; then it runs
// ../shared/baselines/python/bench3_mp_pool.py (found beside the checkout) once and reads its
// imap_unordered figures. It prints the median items/s of -reps runs and the
// ratios: ours / hand-written (target ≥ 0.67, i.e. within 1.5×) and ours /
// Python (target ≥ 3).
//
// Every run is a process of its own (the command runs itself with a hidden
// first argument naming the variant, the chunk size and -n), so that it
// also reports each variant's peak memory, the median of its runs' peak
// resident set size (ru_maxrss), next to its time, and the ratio of ours to
// the hand-written one's. The peak includes the input slice of the Map
// variants (-n × 8 bytes, and as much again for the results) and the Go
// runtime. Runs of the variants are interleaved, as before.
//
//	cd bench && go run ./cmd/poolbench                       # about a minute
//	cd bench && go run ./cmd/poolbench -python ""            # Go only
//	cd bench && go run ./cmd/poolbench -python "" -n 10000000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gofutures/gofutures/bench/internal/pybase"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

// childArg, as the first argument, makes the command run one variant once
// and print its time and result (see child) instead of the comparison.
const childArg = "-poolbench-child"

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "poolbench child:", err)
			os.Exit(1)
		}
		return
	}
	n := flag.Int("n", 1_000_000, "items per run")
	workers := flag.Int("workers", 2, "workers of the executor (Python's Pool(2) has 2)")
	reps := flag.Int("reps", 7, "runs per variant; the median is reported")
	python := flag.String("python", "python3", `Python interpreter ("" to skip Python)`)
	script := flag.String("script", "", "Python baseline script (default: shared/baselines/python/bench3_mp_pool.py beside the checkout)")
	flag.Parse()
	if *script == "" {
		found, err := pybase.Find("", "bench3_mp_pool.py")
		if err != nil {
			fmt.Fprintln(os.Stderr, err) // the Python comparison fails without it
		}
		*script = found
	}
	if err := run(*n, *workers, *reps, *python, *script); err != nil {
		fmt.Fprintln(os.Stderr, "poolbench:", err)
		os.Exit(1)
	}
}

// env is what the variants run with, in the process of a run.
type env struct {
	p       *pool.Pool
	workers int
	items   []int // 0..n-1, for the Map variants
}

// variant is one way of doing the work: it processes n items at chunk size
// cs and returns the sum of the results, to check them.
type variant struct {
	name   string
	kind   string // "imap_unordered" or "map": what it is compared with
	ours   bool
	sliced bool // its input is env.items
	run    func(ctx context.Context, e *env, n, cs int) (int, error)
}

var variants = []variant{
	{"pool.ImapUnordered", "imap_unordered", true, false, func(ctx context.Context, e *env, n, cs int) (int, error) {
		return poolImapUnordered(ctx, e.p, n, cs)
	}},
	{"errgroup+channels unordered", "imap_unordered", false, false, func(ctx context.Context, e *env, n, cs int) (int, error) {
		return handUnordered(ctx, e.workers, n, cs)
	}},
	{"pool.Map", "map", true, true, func(ctx context.Context, e *env, n, cs int) (int, error) {
		return poolMap(ctx, e.p, e.items[:n], cs)
	}},
	{"errgroup map", "map", false, true, func(ctx context.Context, e *env, n, cs int) (int, error) {
		return handMap(ctx, e.workers, e.items[:n], cs)
	}},
}

// child runs the variant args[0] at chunk size args[1] over args[2] items
// on args[3] workers, once after a warm-up, and prints the run's time in
// nanoseconds and the sum of its results.
func child(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("want variant, chunk size, items, workers; got %q", args)
	}
	i := slices.IndexFunc(variants, func(v variant) bool { return v.name == args[0] })
	if i < 0 {
		return fmt.Errorf("no variant %q", args[0])
	}
	v := variants[i]
	var nums [3]int
	for k, a := range args[1:] {
		x, err := strconv.Atoi(a)
		if err != nil {
			return err
		}
		nums[k] = x
	}
	cs, n, workers := nums[0], nums[1], nums[2]
	ctx := context.Background()
	ex, err := executor.NewGoPool(executor.WithWorkers(workers))
	if err != nil {
		return err
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		return err
	}
	defer func() {
		p.Close()
		_ = p.Join(ctx)
	}()
	e := &env{p: p, workers: workers}
	if v.sliced {
		e.items = make([]int, n)
		for i := range e.items {
			e.items[i] = i
		}
	}
	// Warm up: workers started, code paged in.
	if _, err := v.run(ctx, e, min(n, 10_000), cs); err != nil {
		return err
	}
	debug.FreeOSMemory()
	start := time.Now()
	sum, err := v.run(ctx, e, n, cs)
	el := time.Since(start)
	if err != nil {
		return err
	}
	fmt.Println(el.Nanoseconds(), sum)
	return nil
}

// sample is one run: its items/s and its process's peak RSS in KiB (0 if
// unknown).
type sample struct {
	rate float64
	peak int64
}

// runChild runs variant v once in a process of its own.
func runChild(v variant, n, cs, workers int) (sample, error) {
	cmd := exec.Command(os.Args[0], childArg, v.name, strconv.Itoa(cs), strconv.Itoa(n), strconv.Itoa(workers))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return sample{}, fmt.Errorf("%s chunk %d: %w: %s", v.name, cs, err, strings.TrimSpace(stderr.String()))
	}
	var ns, sum int
	if _, err := fmt.Sscan(string(out), &ns, &sum); err != nil {
		return sample{}, fmt.Errorf("%s chunk %d: output %q: %w", v.name, cs, out, err)
	}
	if want := n * (n + 1) / 2; sum != want {
		return sample{}, fmt.Errorf("%s chunk %d: sum %d, want %d", v.name, cs, sum, want)
	}
	return sample{rate: float64(n) / time.Duration(ns).Seconds(), peak: peakKiB(cmd.ProcessState)}, nil
}

func run(n, workers, reps int, python, script string) error {
	type key struct {
		name string
		cs   int
	}
	rate := map[key]float64{}
	peak := map[key]float64{} // MB
	// Runs of the variants are interleaved, so that the load of a shared
	// machine weighs on each alike.
	for _, cs := range []int{1, 1000} {
		samples := make([][]sample, len(variants))
		for range reps {
			for i, v := range variants {
				s, err := runChild(v, n, cs, workers)
				if err != nil {
					return err
				}
				samples[i] = append(samples[i], s)
			}
		}
		for i, v := range variants {
			rate[key{v.name, cs}] = median(samples[i], func(s sample) float64 { return s.rate })
			peak[key{v.name, cs}] = median(samples[i], func(s sample) float64 { return float64(s.peak) / 1024 })
		}
	}

	var py map[int]pyResult
	if python != "" {
		fmt.Fprintf(os.Stderr, "running %s %s (PYBASE_REPS=%d)...\n", python, script, reps)
		var err error
		if py, err = runPython(python, script, reps); err != nil {
			return err
		}
	}

	fmt.Printf("%d trivial items (x+1), GoPool of %d workers, median of %d runs, each in a process of its own; GOMAXPROCS=%d, %s\n\n",
		n, workers, reps, runtime.GOMAXPROCS(0), runtime.Version())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tchunk\titems/s\tpeak MB\tours/hand-written\tpeak ours/hand-written\tours/Python imap_unordered\t")
	for _, cs := range []int{1, 1000} {
		for _, v := range variants {
			k := key{v.name, cs}
			r, m := rate[k], peak[k]
			vsHand, memVsHand, vsPy := "", "", ""
			if v.ours {
				for _, h := range variants {
					if !h.ours && h.kind == v.kind {
						vsHand = fmt.Sprintf("%.2f", r/rate[key{h.name, cs}])
						if hm := peak[key{h.name, cs}]; hm > 0 {
							memVsHand = fmt.Sprintf("%.2f", m/hm)
						}
					}
				}
				if pr, ok := py[cs]; ok {
					vsPy = fmt.Sprintf("%.1f", r/pr.rate)
				}
			}
			mb := "?"
			if m > 0 {
				mb = fmt.Sprintf("%.1f", m)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", v.name, cs, human(r), mb, vsHand, memVsHand, vsPy)
		}
		if pr, ok := py[cs]; ok {
			fmt.Fprintf(tw, "Python Pool(2).imap_unordered (%d items)\t%d\t%s\t\t\t\t\t\n", pr.n, cs, human(pr.rate))
		}
	}
	tw.Flush()
	fmt.Println("\ntargets: ours/hand-written >= 0.67 (within 1.5x); ours/Python >= 3; pool.Map: >= 0.9 and peak <= 2x the hand-written")
	return nil
}

func median[T any](xs []T, f func(T) float64) float64 {
	s := make([]float64, len(xs))
	for i, x := range xs {
		s[i] = f(x)
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
