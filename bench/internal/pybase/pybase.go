// Package pybase runs the Python baselines of ../shared/baselines/python and
// reads their results, for the comparison programs of this module.
package pybase

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Record is one result line of a baseline script.
type Record struct {
	Bench string  `json:"bench"`              // the measurement's name
	Rate  float64 `json:"median_tasks_per_s"` // median tasks (items) per second
	N     int     `json:"n_tasks"`            // tasks per run
}

// Run runs script with python in the script's folder, reps runs per
// measurement (PYBASE_REPS), and returns its result lines. It blocks until
// the script exits.
func Run(python, script string, reps int) ([]Record, error) {
	cmd := exec.Command(python, filepath.Base(script))
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "PYBASE_REPS="+strconv.Itoa(reps))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", python, script, err, strings.TrimSpace(stderr.String()))
	}
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Bench != "" {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no results in its output:\n%s", script, out)
	}
	return recs, nil
}

// Find returns the path of the baseline script name (e.g.
// "bench7_managers.py"): in dir if dir is not empty, else in the first
// shared/baselines/python found beside the working directory or one of its
// parents (the checkout's sibling ../shared, wherever the program runs from
// inside it).
func Find(dir, name string) (string, error) {
	if dir != "" {
		return filepath.Join(dir, name), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "shared", "baselines", "python", name)
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("python baseline %s not found in shared/baselines/python beside %s or a parent (give its path)", name, wd)
		}
	}
}
