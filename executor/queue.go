package executor

// entry is a scheduled task; its scope, nil for a task scheduled with
// context.Background() or context.TODO() (it runs with GoPool.runCtx); and,
// when it is timed for the hooks, when it was scheduled (GoPool.now; 0: not
// timed).
type entry struct {
	t  Task
	s  *scope
	at int64
}
