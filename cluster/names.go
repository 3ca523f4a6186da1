package cluster

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Subject layout, for a stream named S (p = lower(S)):
//
//	p.tasks             the task messages (the stream's only subject)
//	p.s.<sid>.start     worker -> submitter: may these tasks start?
//	p.s.<sid>.started   worker -> submitter: these tasks start running now
//	                    (sent, and written to the socket, before each runs)
//	p.s.<sid>.result    worker -> submitter: results
//	p.s.<sid>.cancel    submitter -> workers: the submit contexts of these
//	                    running tasks ended (wire.AppendCancel); workers
//	                    subscribe to p.s.*.cancel
//	p.stop              submitter -> workers: <sid> stopped, cancel its tasks
//	p.workers           worker -> executors: presence, every second (presence.go)
//
// A task message has the header Nats-Msg-Id "<sid>.<seq>": the task id,
// which the server uses to drop duplicate publishes; sid is the submitting
// executor's id, seq the task's number there. A task submitted with a
// context that has a deadline also has the header Gofutures-Deadline: the
// deadline in Unix nanoseconds (decimal, wall clock), which the worker gives
// its task context. Both additions are optional for the other side: a
// worker that ignores them runs the task without a deadline and without
// being interrupted, and its late result is ignored (the future failed when
// the context ended); a submitter that sends neither gets the behaviour of
// before. So the wire has no version to bump.
const consumerName = "workers"

// deadlineHeader carries a task's deadline (see above).
const deadlineHeader = "Gofutures-Deadline"

func prefix(stream string) string             { return strings.ToLower(stream) }
func tasksSubject(stream string) string       { return prefix(stream) + ".tasks" }
func stopSubject(stream string) string        { return prefix(stream) + ".stop" }
func startSubject(stream, sid string) string  { return prefix(stream) + ".s." + sid + ".start" }
func resultSubject(stream, sid string) string { return prefix(stream) + ".s." + sid + ".result" }
func startedSubject(stream, sid string) string {
	return prefix(stream) + ".s." + sid + ".started"
}
func cancelSubject(stream, sid string) string { return prefix(stream) + ".s." + sid + ".cancel" }
func cancelWildcard(stream string) string     { return prefix(stream) + ".s.*.cancel" }

// presenceSubject is where workers announce themselves (see presence.go).
func presenceSubject(stream string) string { return prefix(stream) + ".workers" }

// cancelSubmitter returns the sid of a cancel subject, or "" if subj is not one.
func cancelSubmitter(stream, subj string) string {
	p := prefix(stream) + ".s."
	sid, ok := strings.CutPrefix(subj, p)
	if !ok {
		return ""
	}
	sid, ok = strings.CutSuffix(sid, ".cancel")
	if !ok || sid == "" || strings.IndexByte(sid, '.') >= 0 {
		return ""
	}
	return sid
}

// formatDeadline and parseDeadline encode the deadline header.
func formatDeadline(unixNano int64) string { return strconv.FormatInt(unixNano, 10) }

func parseDeadline(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

// taskID is the Nats-Msg-Id of a task message: "<sid>.<seq>", and
// "<sid>.<seq>-<gen>" for a task published again after its message was lost
// (gen > 0), which the server must not drop as a duplicate.
func taskID(sid string, seq uint64, gen int) string {
	id := sid + "." + strconv.FormatUint(seq, 10)
	if gen > 0 {
		id += "-" + strconv.Itoa(gen)
	}
	return id
}

// parseTaskID splits a task id; ok is false if it is malformed.
func parseTaskID(id string) (sid string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 {
		return "", 0, false
	}
	num := id[i+1:]
	if j := strings.IndexByte(num, '-'); j >= 0 {
		num = num[:j]
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return id[:i], seq, true
}

func streamConfig(cfg *config) jetstream.StreamConfig {
	st := jetstream.FileStorage
	if cfg.storage == MemoryStorage {
		st = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:        cfg.stream,
		Description: "gofutures cluster executor tasks",
		Subjects:    []string{tasksSubject(cfg.stream)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     st,
		Replicas:    cfg.replicas,
		Duplicates:  cfg.dupWindow,
	}
}

// maxDeliveries is the consumer's MaxDeliver. The delivery limit that a
// task's future reports (WithMaxAttempts) counts the deliveries that
// started the task, and the submitter enforces it; deliveries that never
// started it (its worker died or drained while it waited, or could not
// reach the submitter) do not count there. The server's own limit is only a
// backstop, for a task that nobody can report on: it allows maxAttempts
// started deliveries plus as many again and four more unstarted ones, and
// its last delivery only reports the failure.
func maxDeliveries(cfg *config) int { return 2*cfg.maxAttempts + 5 }

// backOff returns the ack wait of each delivery: ackWait, doubling up to
// maxBackOff. Its length is the consumer's MaxDeliver.
func backOff(cfg *config) []time.Duration {
	out := make([]time.Duration, maxDeliveries(cfg))
	d := cfg.ackWait
	for i := range out {
		out[i] = d
		if d < cfg.maxBackOff/2 {
			d *= 2
		} else {
			d = max(cfg.maxBackOff, cfg.ackWait)
		}
	}
	return out
}

func consumerConfig(cfg *config) jetstream.ConsumerConfig {
	bo := backOff(cfg)
	return jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "gofutures cluster workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       bo[0],
		BackOff:       bo,
		MaxDeliver:    maxDeliveries(cfg), // the last delivery only reports the failure
		MaxAckPending: cfg.maxAckPend,
		FilterSubject: tasksSubject(cfg.stream),
		Replicas:      cfg.replicas,
	}
}
