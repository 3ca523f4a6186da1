// Command gopoolbench compares gofutures' GoPool with raw goroutines, ants,
// pond and conc on trivial tasks, and with Python's ThreadPoolExecutor(4).
//
// Every variant runs the same task, i -> i+1, n times: submit all, then wait
// for all (for ours, Result on every future). Pool creation is outside the
// timed region, the workers' lazy start is inside, as in Python's baseline.
// Measurements are interleaved (every variant once per round, in a rotating
// order) so that machine noise hits them alike, and the median of the rounds
// is printed as a Markdown table. Each measurement runs in a process of its
// own (this program, run again), so that the table can show each variant's
// peak RSS next to its time: see child.go.
//
// The "dashboard" variants run ours on a pool that feeds package
// dashboard's hooks, with no page open and with one polling, and the
// program prints their cost next to ours.
//
// The "cancellable ctx" variants submit the same tasks with a
// context.WithCancel instead of context.Background() (one for the whole run,
// or one per task), and the program prints their cost next to ours.
//
//	cd bench && go run ./cmd/gopoolbench            # 1,000,000 tasks, 3 rounds, with Python
//	cd bench && go run ./cmd/gopoolbench -quick     # CI: 20,000 tasks, 1 round, no Python
//	cd bench && go run ./cmd/gopoolbench -only ours -python=false   # ours only, the ctx rows included
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofutures/gofutures/bench/internal/pybase"
)

type key struct {
	variant int
	size    int // 0 for variants that take no size
}

func main() {
	n := flag.Int("n", 1_000_000, "tasks per measurement")
	runs := flag.Int("runs", 3, "rounds; the median is printed")
	batch := flag.Int("batch", 0, "submit and wait in batches of this many tasks (0: all n at once); with a batch smaller than the pool, no task waits for a busy worker")
	quick := flag.Bool("quick", false, "fast mode for CI: -n 20000 -runs 1 -python=false unless set explicitly")
	sizesFlag := flag.String("sizes", "", "comma-separated pool sizes (default NumCPU,10000)")
	only := flag.String("only", "", "regexp: measure only the variants whose name matches (ours is always measured)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each measured run to FILE.<variant>-<size>.r<round> (go tool pprof merges several)")
	warmup := flag.Bool("warmup", true, "run every variant once on n/10 tasks before measuring it, in its process")
	child := flag.String("child", "", "") // hidden: run one measurement (see child.go)
	withPython := flag.Bool("python", true, "also run Python's ThreadPoolExecutor(4) baseline")
	python := flag.String("python-bin", "python3", "Python interpreter")
	script := flag.String("python-script", "", "Python baseline script (default: shared/baselines/python/bench1_threadpool.py beside the checkout)")
	flag.Usage = usage
	flag.Parse()
	if *child != "" {
		runChild(*child, *n, *batch, *warmup, *cpuprofile)
		return
	}
	if *script == "" {
		found, err := pybase.Find("", "bench1_threadpool.py")
		if err != nil {
			fmt.Fprintln(os.Stderr, err) // the Python comparison fails without it
		}
		*script = found
	}

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["n"] {
			*n = 20_000
		}
		if !set["runs"] {
			*runs = 1
		}
		if !set["python"] {
			*withPython = false
		}
	}
	sizes := []int{runtime.NumCPU(), 10_000}
	if *sizesFlag != "" {
		sizes = nil
		for _, s := range strings.Split(*sizesFlag, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v <= 0 {
				fatalf("bad -sizes %q", *sizesFlag)
			}
			sizes = append(sizes, v)
		}
	}
	if *n <= 0 || *runs <= 0 {
		fatalf("-n and -runs must be > 0")
	}

	oursIdx := indexOf(oursName)
	onlyRE, err := regexp.Compile(*only)
	if err != nil {
		fatalf("bad -only: %v", err)
	}
	include := func(i int) bool { return i == oursIdx || onlyRE.MatchString(variants[i].name) }

	results := map[key][]sample{}
	var ours4 []sample
	var pyRates []float64
	start := time.Now()
	profile := func(k key, r int) string {
		if *cpuprofile == "" {
			return ""
		}
		return fmt.Sprintf("%s.%d-%d.r%d", *cpuprofile, k.variant, k.size, r+1)
	}
	idle, err := measureInChild(job{variant: -1})
	if err != nil {
		fatalf("idle child: %v", err)
	}
	for r := range *runs {
		// One job per (variant, size); the order rotates each round.
		var jobs []key
		for i, v := range variants {
			if !include(i) {
				continue
			}
			if !v.sized {
				jobs = append(jobs, key{i, 0})
				continue
			}
			for _, s := range sizes {
				jobs = append(jobs, key{i, s})
			}
		}
		for j := range jobs {
			k := jobs[(j + r*len(jobs) / *runs)%len(jobs)]
			s, err := measureInChild(job{variant: k.variant, size: k.size, n: *n, batch: *batch, warmup: *warmup, profile: profile(k, r)})
			if err != nil {
				fatalf("%s size %d: %v", variants[k.variant].name, k.size, err)
			}
			results[k] = append(results[k], s)
			progress("round %d/%d  %-45s size %-6d %8.1f ns/task %7.1f MB peak RSS", r+1, *runs, variants[k.variant].name, k.size,
				float64(s.elapsed.Nanoseconds())/float64(*n), float64(s.rss)/(1<<20))
		}
		if *withPython {
			s, err := measureInChild(job{variant: oursIdx, size: 4, n: pythonN, warmup: *warmup})
			if err != nil {
				fatalf("ours(4): %v", err)
			}
			ours4 = append(ours4, s)
			rate, err := runPython(*python, *script)
			if err != nil {
				fatalf("python: %v", err)
			}
			pyRates = append(pyRates, rate)
			progress("round %d/%d  ours(4) %.0f tasks/s, Python TPE(4) %.0f tasks/s", r+1, *runs,
				float64(pythonN)/s.elapsed.Seconds(), rate)
		}
	}

	batchNote := "all submitted, then all waited"
	if *batch > 0 && *batch < *n {
		batchNote = fmt.Sprintf("in batches of %d (submit a batch, wait for it)", *batch)
	}
	fmt.Printf("gopoolbench: %d trivial tasks (i -> i+1) per measurement, %s; median of %d rounds, each measurement in a process of its own; %s %s/%s, NumCPU=%d GOMAXPROCS=%d, %s (took %s)\n\n",
		*n, batchNote, *runs, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		time.Now().UTC().Format(time.RFC3339), time.Since(start).Round(time.Second))
	fmt.Printf("Peak RSS is the measuring process's (warm-up included); one that measures nothing peaks at %.1f MB.\n\n", float64(idle.rss)/(1<<20))
	fmt.Println("| variant | pool size | future per task | ns/task | time / ours | CPU ns/task | CPU / ours | B/task | allocs/task | peak heap+stacks MB | peak RSS MB | RSS / ours |")
	fmt.Println("|---|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	medians := map[key]sample{}
	for k, ss := range results {
		medians[k] = median(ss)
	}
	per := func(x uint64) float64 { return float64(x) / float64(*n) }
	for _, size := range sizes {
		ref := medians[key{oursIdx, size}]
		for i, v := range variants {
			if !include(i) {
				continue
			}
			k := key{i, size}
			sizeCol := strconv.Itoa(size)
			if !v.sized {
				k.size = 0
				sizeCol = "— (1 goroutine/task)"
			}
			m := medians[k]
			fut := "no"
			if v.future {
				fut = "yes"
			}
			fmt.Printf("| %s | %s | %s | %.1f | %.2f× | %.1f | %.2f× | %.1f | %.2f | %.1f | %.1f | %.2f× |\n",
				v.name, sizeCol, fut,
				per(uint64(m.elapsed.Nanoseconds())), float64(m.elapsed)/float64(ref.elapsed),
				per(uint64(m.cpu.Nanoseconds())), float64(m.cpu)/float64(ref.cpu),
				per(m.bytes), per(m.mallocs), float64(m.peak)/(1<<20),
				float64(m.rss)/(1<<20), float64(m.rss)/float64(ref.rss))
		}
	}

	var pyRate, ours4Rate float64
	if *withPython {
		pyRate = medianFloat(pyRates)
		o := median(ours4)
		ours4Rate = float64(pythonN) / o.elapsed.Seconds()
		fmt.Printf("\n| %d tasks, submit + result each, 4 workers | tasks/s | throughput vs Python |\n", pythonN)
		fmt.Println("|---|---:|---:|")
		fmt.Printf("| Python %s ThreadPoolExecutor(4) (bench1_threadpool.py, C1) | %.0f | 1× |\n", pythonVersion(*python), pyRate)
		fmt.Printf("| ours: executor.Submit + Result, WithWorkers(4) | %.0f | %.1f× |\n", ours4Rate, ours4Rate/pyRate)
	}

	fmt.Println("\nTargets (from the issue):")
	antsIdx, pondIdx, callIdx := indexOf("ants Pool.Submit + WaitGroup"), indexOf("pond/v2 Pool.Submit + Task.Wait"), indexOf(oursCallName)
	for _, size := range sizes {
		if !include(antsIdx) || !include(pondIdx) || !include(callIdx) {
			fmt.Println("- (ants, pond and ours Call are needed for the target checks)")
			break
		}
		o := medians[key{oursIdx, size}]
		a := medians[key{antsIdx, size}]
		p := medians[key{pondIdx, size}]
		ra := float64(o.elapsed) / float64(a.elapsed)
		rp := float64(p.elapsed) / float64(o.elapsed)
		c := medians[key{callIdx, size}]
		closure := per(a.mallocs)
		fmt.Printf("- size %d: ours/ants time %.2f× (target ≤ 1.5×) %s; pond/ours time %.2f× (target ≥ 2×) %s; CPU time: ours/ants %.2f×, pond/ours %.2f×\n",
			size, ra, verdict(ra <= 1.5), rp, verdict(rp >= 2), float64(o.cpu)/float64(a.cpu), float64(p.cpu)/float64(o.cpu))
		fmt.Printf("  allocs/task (target ≤ 2): executor.Call %.2f %s; executor.Submit %.2f %s, of which ~1 is the task's own capturing closure (ants, which allocates nothing else, shows %.2f)\n",
			per(c.mallocs), verdict(per(c.mallocs) < 2.005), per(o.mallocs), verdict(per(o.mallocs) < 2.005), closure)
	}
	fmt.Println("\nThe caller's ctx reaching the task (a cancellable ctx against context.Background(), same run):")
	for _, size := range sizes {
		for _, pair := range [][2]string{{oursName, oursSubmitCtxName}, {oursCallName, oursCallCtxName}, {oursCallName, oursCallCtxPerTaskName}} {
			bi, ci := indexOf(pair[0]), indexOf(pair[1])
			if !include(bi) || !include(ci) {
				continue
			}
			b, c := medians[key{bi, size}], medians[key{ci, size}]
			fmt.Printf("- size %d: %s: time %.2f× of %s, allocs/task %+.2f (%.2f → %.2f), B/task %+.1f\n",
				size, pair[1], float64(c.elapsed)/float64(b.elapsed), pair[0],
				per(c.mallocs)-per(b.mallocs), per(b.mallocs), per(c.mallocs), per(c.bytes)-per(b.bytes))
		}
	}
	fmt.Println("  (target: a shared cancellable ctx costs at most one allocation more per task; the ctx-per-task row includes the caller's own context.WithCancel, two allocations)")
	fmt.Println("\nThe dashboard's cost (package dashboard's hooks on the pool, same run):")
	for _, size := range sizes {
		for _, name := range []string{oursDashName, oursDashPolledName} {
			ci := indexOf(name)
			if !include(ci) {
				continue
			}
			b, c := medians[key{oursIdx, size}], medians[key{ci, size}]
			r := float64(c.elapsed) / float64(b.elapsed)
			fmt.Printf("- size %d: %s: time %.3f× of ours, CPU %.3f×, allocs/task %+.2f", size, name, r,
				float64(c.cpu)/float64(b.cpu), per(c.mallocs)-per(b.mallocs))
			if name == oursDashName {
				fmt.Printf(" (target ≤ 1.03×) %s", verdict(r <= 1.03))
			}
			fmt.Println()
		}
	}
	if *withPython {
		r := ours4Rate / pyRate
		fmt.Printf("- ours(4 workers) vs Python ThreadPoolExecutor(4): %.1f× throughput (target ≥ 25×) %s\n", r, verdict(r >= 25))
	}
}

// usage prints the flags, but for the hidden -child.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage of %s:\n", os.Args[0])
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name == "child" {
			return
		}
		fmt.Fprintf(out, "  -%s\n    \t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
	})
}

func indexOf(name string) int {
	for i, v := range variants {
		if v.name == name {
			return i
		}
	}
	panic("no variant " + name)
}

func verdict(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**MISS**"
}

func pythonVersion(python string) string {
	out, err := execOutput(python, "-c", "import platform; print(platform.python_version())")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gopoolbench: "+format+"\n", args...)
	os.Exit(1)
}
