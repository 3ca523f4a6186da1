package cluster

import "github.com/gofutures/gofutures/executor"

// Hooks returns the hooks the executor calls (WithHooks), so that work done
// around it, as retries (executor.Retry), is counted with its own. It does
// not block.
func (e *Executor) Hooks() *executor.Hooks { return e.cfg.hooks }
