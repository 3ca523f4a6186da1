package clusterstats_test

import (
	"fmt"
	"time"

	"github.com/gofutures/gofutures/cluster/clusterstats"
)

// Example reads a picture of a cluster, as cluster.Executor.Stats returns
// it: are there enough workers for the backlog?
func Example() {
	st := clusterstats.Stats{
		Workers: []clusterstats.Worker{
			{Name: "gpu-1", Concurrency: 4, Running: 4, Held: 6},
			{Name: "gpu-2", Concurrency: 4, Running: 4, Held: 5, Draining: true},
		},
		StreamDepth: 120,
		AckLatency: clusterstats.Histogram{
			Bounds: []time.Duration{time.Millisecond, 10 * time.Millisecond},
			Counts: []uint64{90, 99}, Count: 100, Sum: 150 * time.Millisecond,
		},
	}
	capacity, running := 0, 0
	for _, w := range st.Workers {
		if !w.Draining {
			capacity += w.Concurrency
		}
		running += w.Running
	}
	fmt.Printf("%d running, %d waiting, capacity %d\n", running, st.StreamDepth, capacity)
	if st.StreamDepth > 0 && running >= capacity {
		fmt.Println("every worker is busy: add workers")
	}
	fmt.Printf("stores confirmed within 1ms: %d%%; mean %v\n",
		100*st.AckLatency.Counts[0]/st.AckLatency.Count, st.AckLatency.Sum/time.Duration(st.AckLatency.Count))
	// Output:
	// 8 running, 120 waiting, capacity 4
	// every worker is busy: add workers
	// stores confirmed within 1ms: 90%; mean 1.5ms
}
