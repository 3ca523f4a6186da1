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

type pyResult struct {
	rate float64 // median items/s
	n    int     // items per run
}

// runPython runs the multiprocessing.Pool baseline and returns, per chunk
// size, the items/s of Pool(2).imap_unordered with a warm pool: its 20,000
// item runs for chunk size 1 and its 1,000,000 item run for chunk size 1000
// (the script's own choice: 1,000,000 items at chunk size 1 would take
// Python half a minute).
func runPython(python, script string, reps int) (map[int]pyResult, error) {
	cmd := exec.Command(python, filepath.Base(script))
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PYBASE_REPS=%d", reps))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", python, script, err, strings.TrimSpace(stderr.String()))
	}
	want := map[string]int{
		"C3 Pool(2).imap_unordered cs=1 warm":     1,
		"C3L Pool(2).imap_unordered cs=1000 warm": 1000,
	}
	res := map[int]pyResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var rec struct {
			Bench string  `json:"bench"`
			Rate  float64 `json:"median_tasks_per_s"`
			N     int     `json:"n_tasks"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		for prefix, cs := range want {
			if strings.HasPrefix(rec.Bench, prefix) {
				res[cs] = pyResult{rate: rec.Rate, n: rec.N}
			}
		}
	}
	if len(res) != len(want) {
		return nil, fmt.Errorf("%s: expected imap_unordered lines missing from its output:\n%s", script, out)
	}
	return res, nil
}
