package process

import (
	"time"

	"github.com/gofutures/gofutures/executor"
)

// job is a scheduled task on its way to and through a helper.
type job struct {
	t       executor.Task
	r       executor.Remote
	at      time.Time // when it was scheduled (only with hooks)
	runAt   time.Time // when it was handed to a helper (only with hooks)
	started bool      // t.Start returned true; a re-queued job is not started again
	id      uint64    // call id on its current helper's stream
}
