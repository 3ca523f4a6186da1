package main

import (
	"fmt"
	"strings"

	"github.com/gofutures/gofutures/bench/internal/pybase"
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
	recs, err := pybase.Run(python, script, reps)
	if err != nil {
		return nil, err
	}
	want := map[string]int{
		"C3 Pool(2).imap_unordered cs=1 warm":     1,
		"C3L Pool(2).imap_unordered cs=1000 warm": 1000,
	}
	res := map[int]pyResult{}
	for _, rec := range recs {
		for prefix, cs := range want {
			if strings.HasPrefix(rec.Bench, prefix) {
				res[cs] = pyResult{rate: rec.Rate, n: rec.N}
			}
		}
	}
	if len(res) != len(want) {
		return nil, fmt.Errorf("%s: expected imap_unordered lines missing from its output: %+v", script, recs)
	}
	return res, nil
}
