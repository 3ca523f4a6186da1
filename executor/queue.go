package executor

// entry is a scheduled task and, when it is timed for the hooks, when it was
// scheduled (GoPool.now; 0: not timed).
type entry struct {
	t  Task
	at int64
}
