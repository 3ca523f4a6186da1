// Package wire encodes the small control messages that cluster workers and
// submitters exchange besides the task messages themselves: a batch of task
// sequence numbers a worker asks to start (or says it starts now), the
// submitter's verdicts, a batch of results, and the tasks whose submit
// context ended while they ran (a cancel message). Every decoder checks its
// input: the bytes come from another process.
package wire
