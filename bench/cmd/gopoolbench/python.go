package main

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/gofutures/gofutures/bench/internal/pybase"
)

// pythonN is the number of tasks bench1_threadpool.py runs (its N).
const pythonN = 100_000

// pythonBench is the "bench" name prefix of the line we compare with:
// ThreadPoolExecutor(4), submit N tasks then result() on each, executor
// already created.
const pythonBench = "C1 TPE(4) submit+result"

// runPython runs bench1_threadpool.py once (PYBASE_REPS=1) and returns the
// tasks per second of its submit+result measurement.
func runPython(python, script string) (float64, error) {
	recs, err := pybase.Run(python, script, 1)
	if err != nil {
		return 0, err
	}
	for _, rec := range recs {
		if !strings.HasPrefix(rec.Bench, pythonBench) {
			continue
		}
		if rec.N != pythonN {
			return 0, fmt.Errorf("%s ran %d tasks, expected %d", script, rec.N, pythonN)
		}
		return rec.Rate, nil
	}
	return 0, fmt.Errorf("%s: no %q line in its output: %+v", script, pythonBench, recs)
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
