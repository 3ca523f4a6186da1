package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Every measurement runs in a process of its own, this program run again
// with the hidden flag -child: a process's peak RSS only grows, so only a
// process of its own can tell each variant's. The parent keeps the rounds,
// their rotating order and the ratios; the child sets up one variant,
// warms it up if asked, measures it once and prints the sample as one JSON
// line; the parent adds the child's peak RSS, which the kernel reports when
// it exits (getrusage's ru_maxrss).

// job is what a child measures.
type job struct {
	variant int // index in variants; -1 measures nothing (the idle child)
	size    int
	n       int
	batch   int
	warmup  bool
	profile string // CPU profile of the measured run, if not empty
}

func (j job) flag() string { return fmt.Sprintf("%d:%d", j.variant, j.size) }

// wireSample is sample as the child prints it.
type wireSample struct {
	Elapsed, CPU         time.Duration
	Bytes, Mallocs, Peak uint64
	Variant, Size, N     int
}

// measureInChild runs j in a child process and returns its sample, with
// the child's peak RSS.
func measureInChild(j job) (sample, error) {
	args := []string{"-child", j.flag(), "-n", strconv.Itoa(j.n), "-batch", strconv.Itoa(j.batch),
		"-warmup=" + strconv.FormatBool(j.warmup), "-python=false"}
	if j.profile != "" {
		args = append(args, "-cpuprofile", j.profile)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return sample{}, fmt.Errorf("child %s: %w", strings.Join(args, " "), err)
	}
	var w wireSample
	if err := json.Unmarshal(out, &w); err != nil {
		return sample{}, fmt.Errorf("child %s printed %q: %w", strings.Join(args, " "), out, err)
	}
	s := sample{elapsed: w.Elapsed, cpu: w.CPU, bytes: w.Bytes, mallocs: w.Mallocs, peak: w.Peak}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rss = uint64(ru.Maxrss) * 1024 // KiB on Linux
		if runtime.GOOS == "darwin" {
			s.rss = uint64(ru.Maxrss) // bytes on macOS
		}
	}
	return s, nil
}

// runChild is the child's side: it measures the job that spec (-child)
// names, with the flags given, and prints the sample.
func runChild(spec string, n, batch int, warmup bool, profile string) {
	var j job
	if _, err := fmt.Sscanf(spec, "%d:%d", &j.variant, &j.size); err != nil {
		fatalf("bad -child %q: %v", spec, err)
	}
	j.n, j.batch, j.warmup, j.profile = n, batch, warmup, profile
	var s sample
	if j.variant >= 0 {
		if j.variant >= len(variants) {
			fatalf("bad -child %q: no such variant", spec)
		}
		v := variants[j.variant]
		out := make([]int, j.n)
		if j.warmup {
			// One short unrecorded pass, so that the measurement does not
			// pay for faulting in the heap.
			wn := max(1, j.n/10)
			if _, err := measure(v, j.size, wn, j.batch, out[:wn]); err != nil {
				fatalf("warm-up %s: %v", v.name, err)
			}
		}
		stop := startProfile(j.profile)
		var err error
		s, err = measure(v, j.size, j.n, j.batch, out)
		stop()
		if err != nil {
			fatalf("%s size %d: %v", v.name, j.size, err)
		}
	}
	b, err := json.Marshal(wireSample{Elapsed: s.elapsed, CPU: s.cpu, Bytes: s.bytes, Mallocs: s.mallocs, Peak: s.peak,
		Variant: j.variant, Size: j.size, N: j.n})
	if err != nil {
		fatalf("%v", err)
	}
	os.Stdout.Write(append(b, '\n'))
}

// startProfile starts a CPU profile into path, if not empty, and returns
// the function that ends it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fatalf("%v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fatalf("%v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fatalf("%v", err)
		}
	}
}
