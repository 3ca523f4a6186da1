package main

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

// runPython runs bench7_managers.py with PYBASE_REPS=runs and returns the
// median tasks per second of each of its lines, by bench name
// (managers_queue_chunk1, managers_queue_chunk1000).
func runPython(python, script string, runs int) (map[string]float64, error) {
	cmd := exec.Command(python, filepath.Base(script))
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "PYBASE_REPS="+strconv.Itoa(runs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", python, script, err, strings.TrimSpace(stderr.String()))
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var rec struct {
			Bench    string  `json:"bench"`
			TasksPer float64 `json:"median_tasks_per_s"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Bench != "" {
			res[rec.Bench] = rec.TasksPer
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("%s: no results in its output:\n%s", script, out)
	}
	return res, nil
}
