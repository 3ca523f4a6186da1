package main

import "github.com/gofutures/gofutures/bench/internal/pybase"

// runPython runs bench7_managers.py with PYBASE_REPS=runs and returns the
// median tasks per second of each of its lines, by bench name
// (managers_queue_chunk1, managers_queue_chunk1000).
func runPython(python, script string, runs int) (map[string]float64, error) {
	recs, err := pybase.Run(python, script, runs)
	if err != nil {
		return nil, err
	}
	res := map[string]float64{}
	for _, rec := range recs {
		res[rec.Bench] = rec.Rate
	}
	return res, nil
}
