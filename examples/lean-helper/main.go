// Command lean-helper runs its tasks in a dedicated helper binary
// (process.WithHelper) instead of re-executing itself: the helper links only
// the registrations it shares with the host (package tasks) and package
// process, not the host's own dependencies (here Prometheus; in a real
// program, its servers, clients and their package inits), so a helper
// starts with less to load and initialise. Build both, then run the host
// with the helper's path:
//
//	go build -o /tmp/lean-helper-tasks ./examples/lean-helper/helper
//	go run ./examples/lean-helper -helper /tmp/lean-helper-tasks
//
// Without -helper, the program builds the helper itself into a temporary
// directory (with the go command, from inside this module) and removes it
// at the end, so that `go run ./examples/lean-helper` works alone.
//
// bench/cmd/startupprobe measures a helper's start, part by part (its
// -helper and -lean flags).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/gofutures/gofutures/examples/lean-helper/tasks"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	// Not a helper itself: a dedicated binary (WithHelper) serves the
	// tasks. ServeIfHelper would only matter without WithHelper.
	helper := flag.String("helper", "", "path of the helper binary built from ./examples/lean-helper/helper")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	if *helper == "" {
		dir, err := os.MkdirTemp("", "lean-helper")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		if *helper, err = buildHelper(ctx, dir); err != nil {
			log.Fatalf("lean-helper: %v (or give -helper: go build -o /tmp/lean-helper-tasks ./examples/lean-helper/helper)", err)
		}
	}
	if err := run(ctx, os.Stdout, *helper); err != nil {
		log.Fatal(err)
	}
}

// buildHelper builds the helper binary into dir with the go command and
// returns its path.
func buildHelper(ctx context.Context, dir string) (string, error) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command to build the helper with: %w", err)
	}
	bin := filepath.Join(dir, "lean-helper-tasks")
	cmd := exec.CommandContext(ctx, gocmd, "build", "-o", bin, "github.com/gofutures/gofutures/examples/lean-helper/helper")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the helper: %w\n%s", err, out)
	}
	return bin, nil
}

// run runs collatz(1..10) on two helpers started from the binary at helper
// and prints the results, counting them with a Prometheus counter (a
// dependency of the host alone).
func run(ctx context.Context, out io.Writer, helper string) error {
	reg := prometheus.NewRegistry()
	done := prometheus.NewCounter(prometheus.CounterOpts{Name: "collatz_done_total", Help: "Collatz tasks done."})
	reg.MustRegister(done)

	p, err := process.New(tasks.Registry, process.WithWorkers(2), process.WithHelper(helper))
	if err != nil {
		return err
	}
	defer p.Shutdown(ctx)
	fs := make([]*future.Future[int], 10)
	for i := range fs {
		if fs[i], err = executor.Call(ctx, p, tasks.Collatz, int64(i+1)); err != nil {
			return err
		}
	}
	for i, f := range fs {
		steps, err := f.Result(ctx)
		if err != nil {
			return err
		}
		done.Inc()
		fmt.Fprintf(out, "collatz(%d) = %d\n", i+1, steps)
	}
	return p.Shutdown(ctx)
}
