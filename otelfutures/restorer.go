package otelfutures

import (
	"context"

	"github.com/gofutures/gofutures/executor/driver"
	"go.opentelemetry.io/otel/propagation"
)

// NewRestorer returns the driver.Restorer that a process running tasks for
// another installs (process.WithRestorer for a helper, cluster.WithRestorer
// for a worker): it extracts the trace context that came with a task into
// the task's ctx with the propagator (WithPropagators; default the global
// one, as read at each task), so that the spans the task starts are
// children of the task's span in the submitting process. It is safe for
// concurrent use and costs the propagator's Extract per task that carried
// a trace context.
func NewRestorer(opts ...RestorerOption) driver.Restorer {
	cfg := newConfig()
	for _, o := range opts {
		o.applyRestorer(&cfg)
	}
	return restorer{cfg.prop}
}

type restorer struct{ prop propagation.TextMapPropagator }

func (r restorer) RestoreContext(ctx context.Context, md map[string]string) context.Context {
	return r.prop.Extract(ctx, propagation.MapCarrier(md))
}
