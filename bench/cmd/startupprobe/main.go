// Command startupprobe shows where the start-up of a process.Executor goes: it
// starts pools of -workers helpers (this program, re-executed; the lean
// helper of cmd/processbench/helper, which it builds, with -lean; or the
// binary given with -helper, which must serve benchfuncs.Registry), runs
// one task (benchfuncs.Stamp, which reports the helper's clock) and shuts
// down, -rounds times, and prints the median of each part, next to the
// floor: a minimal Go program's exec, one byte to it and back on pipes,
// and its exit (package floor).
//
//	cd bench && go run ./cmd/startupprobe
//	cd bench && go run ./cmd/startupprobe -workers 1 -rounds 40
//	cd bench && go run ./cmd/startupprobe -lean
//
// The parts (host clock and the helper's, both CLOCK_MONOTONIC), for the
// helper that ran the task:
//   - spawn: New until the first helper's cmd.Start returned (pipes,
//     journal, fork and exec), as the pool's WorkerStarted hook sees it;
//   - boot: Start returned until package time's init in the helper (the
//     kernel's exec, the runtime's start, the first packages' init);
//   - init: package time's init until main (the other packages' init);
//   - handshake: main until the first task runs there (the hellos, the call
//     sent and read);
//   - reply: the task ran until its future is ready in the host;
//   - shutdown: Shutdown called until it returned.
//
// Then it runs the helper binary with GODEBUG=inittrace=1 and lists the
// package inits that cost most.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofutures/gofutures/bench/internal/benchfuncs"
	"github.com/gofutures/gofutures/bench/internal/floor"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

func main() {
	benchfuncs.MainAt = benchfuncs.Mono()
	process.ServeIfHelper(benchfuncs.Registry)
	workers := flag.Int("workers", 2, "helpers per pool")
	rounds := flag.Int("rounds", 20, "rounds (median shown)")
	helper := flag.String("helper", "", "helper binary (default: this program); it must serve benchfuncs.Registry")
	lean := flag.Bool("lean", false, "build the lean helper of cmd/processbench/helper and use it")
	flag.Parse()
	if err := run(*workers, *rounds, *helper, *lean); err != nil {
		fmt.Fprintln(os.Stderr, "startupprobe:", err)
		os.Exit(1)
	}
}

type round struct {
	spawn, boot, init, handshake, reply, shutdown, total float64 // ms
	lastStart                                            float64 // ms from New to the last WorkerStarted
}

func run(workers, rounds int, helper string, lean bool) error {
	ctx := context.Background()
	if lean {
		dir, err := os.MkdirTemp("", "startupprobe-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if helper, err = floor.Build(dir, "github.com/gofutures/gofutures/bench/cmd/processbench/helper"); err != nil {
			return err
		}
	}
	fl, err := floor.New()
	if err != nil {
		return err
	}
	defer fl.Close()
	var floors []float64
	var rs []round
	for range rounds {
		d, err := fl.Exec()
		if err != nil {
			return err
		}
		floors = append(floors, ms(d))
		r, err := once(ctx, workers, helper)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	med := func(f func(round) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	name := "this program"
	if helper != "" {
		name = helper
	}
	fmt.Printf("startupprobe: %d helper(s), %d rounds (medians), helper %s; load average %s\n", workers, rounds, name, loadavg())
	fmt.Printf("floor: exec of a minimal Go program + 1 byte back   %7.2f ms\n", median(floors))
	fmt.Printf("  spawn (New .. first cmd.Start returned)           %7.2f ms   (last helper's Start: %.2f ms)\n", med(func(r round) float64 { return r.spawn }), med(func(r round) float64 { return r.lastStart }))
	fmt.Printf("  boot (Start returned .. package time's init)      %7.2f ms\n", med(func(r round) float64 { return r.boot }))
	fmt.Printf("  init (package time's init .. main)                %7.2f ms\n", med(func(r round) float64 { return r.init }))
	fmt.Printf("  handshake (main .. the task runs)                 %7.2f ms\n", med(func(r round) float64 { return r.handshake }))
	fmt.Printf("  reply (the task ran .. its result in the host)    %7.2f ms\n", med(func(r round) float64 { return r.reply }))
	fmt.Printf("  shutdown                                          %7.2f ms\n", med(func(r round) float64 { return r.shutdown }))
	fmt.Printf("  total (New .. Shutdown returned)                  %7.2f ms   (%.2fx the floor)\n", med(func(r round) float64 { return r.total }), med(func(r round) float64 { return r.total })/median(floors))
	return inittrace(helper)
}

func once(ctx context.Context, workers int, helper string) (round, error) {
	var mu sync.Mutex
	var starts []int64
	hooks := &executor.Hooks{WorkerStarted: func() {
		mu.Lock()
		starts = append(starts, benchfuncs.Mono())
		mu.Unlock()
	}}
	opts := []process.Option{process.WithWorkers(workers), process.WithHooks(hooks)}
	if helper != "" {
		opts = append(opts, process.WithHelper(helper))
	}
	t0 := benchfuncs.Mono()
	p, err := process.New(benchfuncs.Registry, opts...)
	if err != nil {
		return round{}, err
	}
	f, err := executor.Call(ctx, p, benchfuncs.Stamp, 0)
	if err != nil {
		return round{}, err
	}
	s, err := f.Result(ctx)
	if err != nil {
		return round{}, err
	}
	t1 := benchfuncs.Mono()
	if err := p.Shutdown(ctx); err != nil {
		return round{}, err
	}
	t2 := benchfuncs.Mono()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(starts)
	if len(starts) == 0 {
		return round{}, fmt.Errorf("no WorkerStarted")
	}
	// The helper that ran the task is one of those started; its Start
	// returned before its time init: take the latest such Start.
	start := starts[0]
	for _, st := range starts {
		if st <= s.TimeInit {
			start = st
		}
	}
	return round{
		spawn:     msn(starts[0] - t0),
		lastStart: msn(starts[len(starts)-1] - t0),
		boot:      msn(s.TimeInit - start),
		init:      msn(s.Main - s.TimeInit),
		handshake: msn(s.Run - s.Main),
		reply:     msn(t1 - s.Run),
		shutdown:  msn(t2 - t1),
		total:     msn(t2 - t0),
	}, nil
}

var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock`)

// inittrace runs the helper binary as a helper without the pool's pipes
// (it stops at once, in ServeIfHelper, after every package init) with
// GODEBUG=inittrace=1, and prints where main began and the costliest inits.
func inittrace(helper string) error {
	if helper == "" {
		var err error
		if helper, err = os.Executable(); err != nil {
			return err
		}
	}
	type pkg struct {
		name  string
		clock float64
	}
	var best []pkg
	var lastAt []float64
	sums := map[string][]float64{}
	const runs = 9
	for range runs {
		cmd := exec.Command(helper)
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "GOFUTURES_PROCESS_HELPER=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		_ = cmd.Run() // it refuses to serve: exit status 2
		sc := bufio.NewScanner(&stderr)
		var total, last float64
		for sc.Scan() {
			m := initLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			at, _ := strconv.ParseFloat(m[2], 64)
			clock, _ := strconv.ParseFloat(m[3], 64)
			total += clock
			sums[m[1]] = append(sums[m[1]], clock)
			last = max(last, at+clock)
		}
		lastAt = append(lastAt, last)
		sums["(all packages)"] = append(sums["(all packages)"], total)
	}
	for name, xs := range sums {
		best = append(best, pkg{name, median(xs)})
	}
	slices.SortFunc(best, func(a, b pkg) int { return -cmp.Compare(a.clock, b.clock) })
	fi, err := os.Stat(helper)
	if err != nil {
		return err
	}
	fmt.Printf("\nGODEBUG=inittrace=1 %s (%.1f MB; %d runs, medians): the package inits end @%.2f ms after the runtime's start\n", helper, float64(fi.Size())/1e6, runs, median(lastAt))
	fmt.Printf("  (inittrace's own output slows the run; the clock column is each init's own time)\n")
	for _, p := range best[:min(8, len(best))] {
		fmt.Printf("  %-50s %6.3f ms clock\n", p.name, p.clock)
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }
func msn(ns int64) float64       { return float64(ns) / 1e6 }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
