package clusterstats

import "time"

// Stats is a picture of a cluster executor and the workers it hears from,
// returned by cluster.Executor.Stats. Reading it: a StreamDepth that grows while
// the Workers run as many tasks as their Concurrency calls for more
// workers; one that grows with no Workers means none is connected (check
// their URL and credentials); Redeliveries that grow mean workers die, lose
// their connection or stall (see their logs); a high AckLatency means the
// NATS server is slow to store tasks (disk, replication, an election).
type Stats struct {
	// Workers are the workers connected now, by name and then ID: each
	// cluster.Worker.Run, and each worker process, announces itself every second
	// on the stream's presence subject. A worker not heard from for three
	// of its intervals, or that said it leaves, is not listed. Workers of
	// the same stream serve every executor of that stream, so all of them
	// see the same workers.
	Workers []Worker
	// StreamDepth is the number of tasks waiting in the stream that no
	// worker has been given yet (the consumer's NumPending), for every
	// executor of the stream: the cluster's backlog.
	StreamDepth uint64
	// AckPending is the number of tasks given to workers and not yet
	// acknowledged (running, prefetched, or with a result on its way).
	AckPending int
	// Redeliveries counts the start requests for tasks that this executor
	// had already let a worker start: the server gave them out again
	// because their worker died, lost its connection, stalled or gave
	// them back while draining.
	Redeliveries uint64
	// DeliveryLimitFailures counts the tasks of this executor that failed
	// with a *cluster.DeliveryError (cluster.WithMaxAttempts deliveries used up).
	DeliveryLimitFailures uint64
	// AckLatency is the time the server took to confirm that it stored a
	// task this executor published, measured from the task's last publish.
	AckLatency Histogram
}

// Worker describes one connected worker as it last announced itself. Its
// counts are at most a second old.
type Worker struct {
	Name        string    // cluster.WithName of the worker ("worker" by default)
	ID          string    // unique to this cluster.Worker.Run
	Host        string    // the worker's host name
	PID         int       // the worker's process id
	Concurrency int       // tasks it runs at once (cluster.WithConcurrency)
	Running     int       // tasks it is running
	Held        int       // tasks it holds: running, prefetched, or with a result on its way
	Draining    bool      // it is stopping: takes no new tasks, finishes those it runs
	LastSeen    time.Time // when this executor last heard from it
}

// Histogram is a latency histogram with fixed buckets.
type Histogram struct {
	// Bounds are the buckets' upper bounds, increasing.
	Bounds []time.Duration
	// Counts[i] is the number of observations <= Bounds[i] (cumulative,
	// as Prometheus counts).
	Counts []uint64
	// Count is the number of observations, including those above the
	// last bound.
	Count uint64
	// Sum is the sum of the observations.
	Sum time.Duration
}
