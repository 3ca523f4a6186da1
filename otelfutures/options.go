package otelfutures

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// WrapOption configures Wrap.
type WrapOption interface {
	applyWrap(*config)
}

// RestorerOption configures NewRestorer.
type RestorerOption interface {
	applyRestorer(*config)
}

// Option configures both Wrap and NewRestorer: it is a WrapOption and a
// RestorerOption.
type Option interface {
	WrapOption
	RestorerOption
}

type config struct {
	tp   trace.TracerProvider
	prop propagation.TextMapPropagator
	name string
}

func newConfig() config {
	return config{tp: otel.GetTracerProvider(), prop: otel.GetTextMapPropagator()}
}

type (
	optionFunc     func(*config)
	wrapOptionFunc func(*config)
)

func (f optionFunc) applyWrap(c *config)     { f(c) }
func (f optionFunc) applyRestorer(c *config) { f(c) }
func (f wrapOptionFunc) applyWrap(c *config) { f(c) }

// WithTracerProvider sets the TracerProvider that makes the tasks' spans.
// Default otel.GetTracerProvider(). A nil tp keeps the default.
func WithTracerProvider(tp trace.TracerProvider) WrapOption {
	return wrapOptionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithPropagators sets the propagator that writes the trace context into
// the metadata a remote task carries (Wrap) and reads it back where the task
// runs (NewRestorer): use the same on both sides. Default
// otel.GetTextMapPropagator(). A nil p keeps the default.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.prop = p
		}
	})
}

// WithExecutorName sets the gofutures.executor.name attribute of the
// spans. Default: the executor's kind ("gopool", "process", "cluster"),
// which you may want to replace with the name given to the executor's own
// WithName.
func WithExecutorName(name string) WrapOption {
	return wrapOptionFunc(func(c *config) { c.name = name })
}
