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
//	cd bench && go run ./cmd/poolbench                 # about a minute
//	cd bench && go run ./cmd/poolbench -python ""      # Go only
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/gofutures/gofutures/bench/internal/pybase"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

func main() {
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

// variant is one way of doing the work: it processes n items at chunk size
// cs and returns the sum of the results, to check them.
type variant struct {
	name string
	kind string // "imap_unordered" or "map": what it is compared with
	ours bool
	run  func(ctx context.Context, n, cs int) (int, error)
}

func run(n, workers, reps int, python, script string) error {
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
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	variants := []variant{
		{"pool.ImapUnordered", "imap_unordered", true, func(ctx context.Context, n, cs int) (int, error) {
			return poolImapUnordered(ctx, p, n, cs)
		}},
		{"errgroup+channels unordered", "imap_unordered", false, func(ctx context.Context, n, cs int) (int, error) {
			return handUnordered(ctx, workers, n, cs)
		}},
		{"pool.Map", "map", true, func(ctx context.Context, n, cs int) (int, error) {
			return poolMap(ctx, p, items, cs)
		}},
		{"errgroup map", "map", false, func(ctx context.Context, n, cs int) (int, error) {
			return handMap(ctx, workers, items, cs)
		}},
	}
	want := n * (n + 1) / 2
	type key struct {
		name string
		cs   int
	}
	rate := map[key]float64{}
	// Runs of the variants are interleaved, so that the load of a shared
	// machine weighs on each alike.
	for _, cs := range []int{1, 1000} {
		samples := make([][]float64, len(variants))
		for _, v := range variants { // warm up: workers started, memory grown
			if _, err := v.run(ctx, min(n, 10_000), cs); err != nil {
				return err
			}
		}
		for range reps {
			for i, v := range variants {
				// Every run starts from the same memory state: collected,
				// and the free pages given back to the OS. With runtime.GC()
				// alone, a run found warm pages or fresh ones depending on
				// what ran before it (the scavenger returns freed pages in
				// the background): Map after the unordered pair ran at 40%
				// of its speed after the other Map.
				debug.FreeOSMemory()
				start := time.Now()
				sum, err := v.run(ctx, n, cs)
				el := time.Since(start)
				if err != nil {
					return fmt.Errorf("%s: %w", v.name, err)
				}
				if sum != want {
					return fmt.Errorf("%s chunk %d: sum %d, want %d", v.name, cs, sum, want)
				}
				samples[i] = append(samples[i], float64(n)/el.Seconds())
			}
		}
		for i, v := range variants {
			rate[key{v.name, cs}] = median(samples[i])
		}
	}

	var py map[int]pyResult
	if python != "" {
		fmt.Fprintf(os.Stderr, "running %s %s (PYBASE_REPS=%d)...\n", python, script, reps)
		if py, err = runPython(python, script, reps); err != nil {
			return err
		}
	}

	fmt.Printf("%d trivial items (x+1), GoPool of %d workers, median of %d runs; GOMAXPROCS=%d, %s\n\n",
		n, workers, reps, runtime.GOMAXPROCS(0), runtime.Version())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tchunk\titems/s\tours/hand-written\tours/Python imap_unordered\t")
	for _, cs := range []int{1, 1000} {
		for _, v := range variants {
			r := rate[key{v.name, cs}]
			vsHand, vsPy := "", ""
			if v.ours {
				for _, h := range variants {
					if !h.ours && h.kind == v.kind {
						vsHand = fmt.Sprintf("%.2f", r/rate[key{h.name, cs}])
					}
				}
				if pr, ok := py[cs]; ok {
					vsPy = fmt.Sprintf("%.1f", r/pr.rate)
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", v.name, cs, human(r), vsHand, vsPy)
		}
		if pr, ok := py[cs]; ok {
			fmt.Fprintf(tw, "Python Pool(2).imap_unordered (%d items)\t%d\t%s\t\t\t\n", pr.n, cs, human(pr.rate))
		}
	}
	tw.Flush()
	fmt.Println("\ntargets: ours/hand-written >= 0.67 (within 1.5x); ours/Python >= 3")
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
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
