package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Example counts the tasks of a goroutine pool on a private registry and
// prints the finished tasks by outcome. In a service, serve the registry
// with promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).
func Example() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	p, err := executor.NewGoPool(executor.WithName("resize"), executor.WithWorkers(2),
		executor.WithHooks(m.Hooks("resize")))
	if err != nil {
		log.Fatal(err)
	}
	var fs []*future.Future[int]
	for i := range 4 {
		f, err := executor.Submit(ctx, p, func(context.Context) (int, error) {
			if i == 3 {
				return 0, errors.New("corrupt image")
			}
			return i * 10, nil
		})
		if err != nil {
			log.Fatal(err)
		}
		fs = append(fs, f)
	}
	for _, f := range fs {
		_ = f.Err(ctx)
	}
	// After Shutdown every hook has run, so the counts are final.
	if err := p.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "gofutures_executor_tasks_finished_total", "gofutures_executor_tasks_submitted_total":
			for _, mt := range mf.GetMetric() {
				v := mt.GetCounter().GetValue()
				if v == 0 {
					continue
				}
				fmt.Print(mf.GetName())
				for _, l := range mt.GetLabel() {
					fmt.Printf(" %s=%s", l.GetName(), l.GetValue())
				}
				fmt.Println(":", v)
			}
		}
	}
	// Output:
	// gofutures_executor_tasks_finished_total executor=resize outcome=error: 1
	// gofutures_executor_tasks_finished_total executor=resize outcome=ok: 3
	// gofutures_executor_tasks_submitted_total executor=resize: 4
}

// ExampleNew shows the options: a constant label for the application, and
// buckets suited to tasks that take seconds.
func ExampleNew() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg,
		metrics.WithConstLabels(prometheus.Labels{"app": "thumbnails"}),
		metrics.WithRunBuckets(prometheus.ExponentialBuckets(0.1, 2, 10)),
	)
	if err != nil {
		log.Fatal(err)
	}
	m.Hooks("render").OnSubmitted()
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gofutures_executor_tasks_submitted_total" {
			for _, l := range mf.GetMetric()[0].GetLabel() {
				fmt.Printf("%s=%s\n", l.GetName(), l.GetValue())
			}
		}
	}
	// Output:
	// app=thumbnails
	// executor=render
}

// ExampleMetrics_Hooks gives two executors one registry: the executor label
// tells them apart.
func ExampleMetrics_Hooks() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"io", "cpu"} {
		p, err := executor.NewGoPool(executor.WithName(name), executor.WithHooks(m.Hooks(name)))
		if err != nil {
			log.Fatal(err)
		}
		f, err := executor.Submit(ctx, p, func(context.Context) (string, error) { return name, nil })
		if err != nil {
			log.Fatal(err)
		}
		v, _ := f.Result(ctx)
		fmt.Println("ran on", v)
		if err := p.Shutdown(ctx); err != nil {
			log.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gofutures_executor_worker_starts_total" {
			for _, mt := range mf.GetMetric() {
				fmt.Printf("%s %s=%s %v\n", mf.GetName(), mt.GetLabel()[0].GetName(), mt.GetLabel()[0].GetValue(), mt.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// ran on io
	// ran on cpu
	// gofutures_executor_worker_starts_total executor=cpu 1
	// gofutures_executor_worker_starts_total executor=io 1
}
