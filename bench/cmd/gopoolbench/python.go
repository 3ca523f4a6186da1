package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	cmd := exec.Command(python, filepath.Base(script))
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "PYBASE_REPS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w: %s", python, script, err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var rec struct {
			Bench    string  `json:"bench"`
			TasksPer float64 `json:"median_tasks_per_s"`
			N        int     `json:"n_tasks"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || !strings.HasPrefix(rec.Bench, pythonBench) {
			continue
		}
		if rec.N != pythonN {
			return 0, fmt.Errorf("%s ran %d tasks, expected %d", script, rec.N, pythonN)
		}
		return rec.TasksPer, nil
	}
	return 0, fmt.Errorf("%s: no %q line in its output:\n%s", script, pythonBench, out)
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
