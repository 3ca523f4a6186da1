// Command tracing follows one request through a process pool with
// OpenTelemetry and prints the spans with the stdout exporter: the request,
// the pool.Map call (otelfutures.Trace), a span per chunk of tasks
// (otelfutures.Wrap) and, inside the helper processes, the span of the HTTP
// call each task makes, all in one trace.
//
//	go run ./examples/tracing          # JSON spans, one per line, then a summary
//
// The program is its own helper. Tracing is set up first, in the helpers
// too (their spans are exported from there, to the same stdout), then
// process.ServeIfHelper with otelfutures' Restorer serves the helper calls.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/gofutures/gofutures/otelfutures"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var (
	reg = process.NewRegistry()
	// fetch runs in a helper: its span is a child of the task's span in
	// the host, through the trace context the call carried.
	fetch = process.MustRegister(reg, "example.fetch", func(ctx context.Context, url string) (int, error) {
		ctx, span := otel.Tracer("examples/tracing").Start(ctx, "GET "+url[strings.LastIndex(url, "/"):])
		defer span.End()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	})
)

// setup installs a TracerProvider that writes every span to stdout as it
// ends (a syncer, since a helper exits without flushing) and the W3C trace
// context propagator, as the global defaults otelfutures uses.
func setup() (*sdktrace.TracerProvider, *counter, error) {
	c := &counter{w: os.Stdout}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(c))
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp, c, nil
}

// counter counts the spans written by this process.
type counter struct {
	w io.Writer
	n int
}

func (c *counter) Write(b []byte) (int, error) {
	c.n++
	return c.w.Write(b)
}

func main() {
	tp, spans, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	process.ServeIfHelper(reg, process.WithRestorer(otelfutures.NewRestorer()))
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = tp.Shutdown(context.Background())
	fmt.Printf("host: %d spans written (the helpers wrote theirs: one per item)\n", spans.n)
}

func run() error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "item %s", r.URL.Path)
	}))
	defer srv.Close()

	ex, err := process.New(reg, process.WithWorkers(2))
	if err != nil {
		return err
	}
	traced := otelfutures.Wrap(ex, otelfutures.WithExecutorName("example-helpers"))
	p, err := pool.New(traced, pool.OwnExecutor())
	if err != nil {
		return err
	}
	defer p.Terminate(context.Background())

	ctx, request := otel.Tracer("examples/tracing").Start(context.Background(), "request")
	urls := []string{srv.URL + "/a", srv.URL + "/b", srv.URL + "/c", srv.URL + "/d"}
	sizes, err := otelfutures.Trace(ctx, traced, "pool.Map example.fetch", func(ctx context.Context) ([]int, error) {
		return pool.Map(ctx, p, fetch, urls, pool.WithChunkSize(2))
	})
	request.End()
	if err != nil {
		return err
	}
	p.Close()
	if err := p.Join(ctx); err != nil {
		return err
	}
	fmt.Printf("trace %s: sizes %v\n", request.SpanContext().TraceID(), sizes)
	return nil
}
