// Package cluster runs registered functions on many machines through NATS
// JetStream: Python's multiprocessing.managers master/worker, done on a real
// distributed engine. Its Executor implements executor.Executor, so the
// futures, executor.Call, executor.CallChunk, executor.Map and package pool
// work unchanged: moving from a process.Executor to a cluster is a change of
// constructor. It runs the functions of a process.Registry and keeps their
// errors' type name, message, stack and registered sentinels.
//
// # Servers
//
// Without WithURL, New starts nats-server in this process (JetStream on,
// file or memory storage, WithStorage), listening on loopback with a random
// port and requiring credentials (a random token unless WithToken,
// WithUserPassword or WithNKeySeed is given): a single machine and the tests
// need nothing installed. With WithURL it connects to an existing NATS
// cluster; see README.md for a three-node cluster and workers on other
// machines.
//
// # Workers
//
// A worker (NewWorker, Worker.Run) connects, pulls tasks from a durable pull
// consumer and runs them, WithConcurrency at a time. ServeIfWorker turns a
// process into one when its environment says so: call it at the top of main.
// WithWorkerProcesses makes the executor start such processes on this
// machine (and replace those that die); on other machines start the same
// program with GOFUTURES_CLUSTER_WORKER=1 and the Env variables. A worker
// given WithWorkerProcesses (GOFUTURES_CLUSTER_PROCESSES) runs its tasks in
// that many supervised child processes instead, so that a task that crashes
// its process takes only that process down. A worker given WithLocalHelpers
// (GOFUTURES_CLUSTER_HELPERS) runs each task on a local process.Executor
// (the calls it receives go to the helpers as they are), one connection for
// all of its cores.
//
// # Delivery
//
// Tasks go to a work-queue stream, one message per task (a chunk of
// CallChunk is one message, within the server's maximum payload), published
// asynchronously with the task id as Nats-Msg-Id, so a publish repeated after
// a lost confirmation is dropped by the server. Workers acknowledge
// explicitly.
//
// A worker asks the server for a task only when it can start it soon: it
// holds the tasks its WithConcurrency runners run, plus a send-ahead that
// covers the round trips to its next task (the tasks its runners finish in
// about a millisecond, at most WithPrefetch). Long tasks therefore wait in
// the stream, where a worker that joins later, or becomes free sooner,
// takes them; tiny ones travel in batches.
//
// While a task runs its worker sends progress heartbeats every third of the
// ack wait, so long tasks stay with their worker, and the task of a worker
// that died is redelivered after the ack wait (WithAckWait), with a
// doubling back-off on later deliveries. Only a delivery that started the
// task counts against its limit: a worker tells the submitter, and writes
// it to its connection, before it calls the function. So the tasks that a
// dying worker held but had not started go to other workers without a
// mark against them. A task redelivered because a worker that started it
// vanished runs alone on its next worker, with no other task started
// beside it (not so with WithLocalHelpers, where each call has a process of
// its own anyway), so it cannot take innocent tasks down with it again. A
// task that kills every worker that runs it thus fails after exactly
// WithMaxAttempts runs with a *DeliveryError (ErrDeliveryLimit), and its
// message is removed: no poison message stays behind; a task that ran
// beside it when it first struck has one delivery counted, no more. If workers cannot reach the submitting executor through the whole
// back-off schedule, the executor later finds its tasks whose message
// vanished and publishes them again. A task whose function returns an error
// is not retried: the error is its result.
//
// Before it runs a task a worker asks the submitting executor (batched with
// other tasks), which moves the future to running; a cancelled future's task
// is skipped and removed. Results go back to the submitting executor only
// (batched), which completes each future once and ignores duplicates from
// redeliveries; a worker acknowledges a task after the executor confirmed its
// result. Future.Cancel therefore works while a task waits in the stream, not
// once it runs (Python's semantics); Stop cancels the contexts of the
// executor's running tasks on every worker (cause executor.ErrStopped).
//
// A worker whose ctx ends (or a worker process sent SIGINT or SIGTERM)
// drains: it stops asking for tasks, hands back at once every task it holds
// and has not started, lets the running ones finish for up to
// WithDrainTimeout, then cancels their ctx, and returns a second later even
// if some ignore it (their messages go back to the server; in a worker
// process they end with the process).
//
// # Context
//
// The ctx a task runs with on its worker is derived from the ctx given to
// executor.Call (or Schedule): its cancellation and its deadline reach the
// worker, and the worker's local helpers (WithLocalHelpers). Values do not
// cross the wire.
//   - The deadline travels with the task (a message header, in Unix
//     nanoseconds): ctx.Deadline() in the worker's function is the caller's,
//     to the nanosecond, and the worker's ctx ends at that time by the
//     worker's clock.
//   - When the ctx ends, the future fails at once with context.Cause(ctx). A
//     task no worker started never runs: its message is skipped and removed
//     when a worker asks to start it, and neither redelivery nor the audit
//     publishes it again. For a running task the executor publishes a cancel
//     message; its worker cancels the task's ctx, with cause context.Canceled
//     or context.DeadlineExceeded (a cause of the caller's own stays on the
//     submitter), and the function sees ctx.Done() (well under a millisecond
//     on one machine; see bench/cmd/clusterbench).
//   - A function that ignores its ctx keeps its worker's slot until it
//     returns; what it returns then is dropped (the future has already
//     failed) and its message is removed, not redelivered.
//   - Work that must outlive the caller is submitted with
//     context.WithoutCancel(ctx). A ctx that cannot end
//     (context.Background(), WithoutCancel) costs nothing; one that can
//     costs a context.AfterFunc per task while the task is held.
//
// # Security
//
// Executors and workers authenticate with a token, a user and password, or
// an NKey, over TLS if configured (WithTLS, WithServerTLS). A worker the
// server refuses returns an error wrapping ErrAuth (ServeIfWorker prints it
// and exits with status 1).
package cluster
