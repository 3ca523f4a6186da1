// Command primes is the is_prime example of Python's concurrent.futures
// documentation, run serially, on the goroutine executor and on the process
// executor, with the times side by side:
//
//	go run ./examples/primes
//
// The program is its own helper: process.ServeIfHelper, at the top of main,
// turns the copies that the process pool starts into workers.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

// reg holds the functions helper processes can run. It is filled at package
// level, so that the helpers (this program, started again) have it too.
var reg = process.NewRegistry()

var isPrime = process.MustRegister(reg, "isPrime", func(_ context.Context, n int64) (bool, error) {
	return IsPrime(n), nil
})

// mapOn calls isPrime on every prime on ex and returns the results in order.
func mapOn(ctx context.Context, ex executor.Executor) ([]bool, error) {
	fs := make([]*future.Future[bool], len(PRIMES))
	for i, n := range PRIMES {
		f, err := executor.Call(ctx, ex, isPrime, n)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	out := make([]bool, len(fs))
	for i, f := range fs {
		v, err := f.Result(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func main() {
	process.ServeIfHelper(reg)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "primes:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	const workers = 2

	start := time.Now()
	serial := make([]bool, len(PRIMES))
	for i, n := range PRIMES {
		serial[i] = IsPrime(n)
	}
	tSerial := time.Since(start)

	// Executor creation and shutdown are timed, as in the Python example's
	// with-block.
	start = time.Now()
	gp, err := executor.NewGoPool(executor.WithWorkers(workers))
	if err != nil {
		return err
	}
	onGo, err := mapOn(ctx, gp)
	if err != nil {
		return err
	}
	if err := gp.Shutdown(ctx); err != nil {
		return err
	}
	tGo := time.Since(start)

	start = time.Now()
	pp, err := process.New(reg, process.WithWorkers(workers))
	if err != nil {
		return err
	}
	onProc, err := mapOn(ctx, pp)
	if err != nil {
		_ = pp.Stop(ctx)
		return err
	}
	if err := pp.Shutdown(ctx); err != nil {
		return err
	}
	tProc := time.Since(start)

	for i, n := range PRIMES {
		if onGo[i] != serial[i] || onProc[i] != serial[i] {
			return fmt.Errorf("results differ for %d: serial %v, goroutines %v, processes %v", n, serial[i], onGo[i], onProc[i])
		}
		fmt.Printf("%d is prime: %v\n", n, serial[i])
	}
	fmt.Println()
	fmt.Printf("%-36s %10s %8s\n", "run", "time", "speedup")
	for _, r := range []struct {
		name string
		d    time.Duration
	}{
		{"serial", tSerial},
		{fmt.Sprintf("goroutine executor (%d workers)", workers), tGo},
		{fmt.Sprintf("process executor (%d helpers)", workers), tProc},
	} {
		fmt.Printf("%-36s %10s %7.2fx\n", r.name, r.d.Round(time.Millisecond), tSerial.Seconds()/r.d.Seconds())
	}
	return nil
}
