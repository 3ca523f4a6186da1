// Command cluster runs tasks on a NATS JetStream cluster of one machine: an
// embedded nats-server, two worker processes (this program, re-executed) and
// the submitter, which is this process. It finishes by itself:
//
//	go run ./examples/cluster
//
// The same code runs on a real cluster: give cluster.New the servers'
// addresses (cluster.WithURL) and credentials, and start workers on other
// machines (see cluster/README.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"slices"
	"time"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
)

// Functions are registered at package level, so the worker processes (this
// program re-executed) have them too.
var (
	reg        = process.NewRegistry()
	errTooBig  = reg.MustRegisterError("example.errTooBig", errors.New("number too big"))
	isPrimeFn  = process.MustRegister(reg, "example.isPrime", isPrime)
	whoRunsFn  = process.MustRegister(reg, "example.pid", func(context.Context, int) (int, error) { return os.Getpid(), nil })
	primeCount = process.MustRegister(reg, "example.isPrimeChunk", isPrime)
)

type primeResult struct {
	N     int64
	Prime bool
	Pid   int
}

func isPrime(_ context.Context, n int64) (primeResult, error) {
	if n > 1<<62 {
		return primeResult{}, fmt.Errorf("%d: %w", n, errTooBig)
	}
	return primeResult{N: n, Prime: big.NewInt(n).ProbablyPrime(20), Pid: os.Getpid()}, nil
}

func main() {
	// In a worker process this serves tasks and exits; here it returns.
	cluster.ServeIfWorker(reg)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The one line that differs from a process pool (process.New(reg)):
	ex, err := cluster.New(ctx, reg,
		cluster.WithWorkerProcesses(2), // started from this binary, stopped at shutdown
		cluster.WithConcurrency(2),     // tasks each worker runs at once
		cluster.WithStorage(cluster.MemoryStorage),
	)
	if err != nil {
		return err
	}
	defer ex.Stop(context.Background())
	fmt.Println("embedded NATS server for the workers at", ex.URL())

	// One task per message.
	nums := []int64{112272535095293, 112582705942171, 115280095190773, 115797848077099, 1099726899285419, 1<<63 - 1}
	futs := make([]*future.Future[primeResult], len(nums))
	for i, n := range nums {
		if futs[i], err = executor.Call(ctx, ex, isPrimeFn, n); err != nil {
			return err
		}
	}
	pids := map[int]bool{}
	for i, f := range futs {
		r, err := f.Result(ctx)
		switch {
		case errors.Is(err, errTooBig): // a registered sentinel crosses the network
			fmt.Printf("%d: refused by the worker: %v\n", nums[i], err)
		case err != nil:
			return err
		default:
			fmt.Printf("%d prime: %v\n", r.N, r.Prime)
			pids[r.Pid] = true
		}
	}

	// Many tasks per message: a chunk is one message.
	args := make([]int64, 1000)
	for i := range args {
		args[i] = int64(1_000_000 + i)
	}
	cf, err := executor.CallChunk(ctx, ex, primeCount, args)
	if err != nil {
		return err
	}
	chunk, err := cf.Result(ctx)
	if err != nil {
		return err
	}
	primes := 0
	for _, r := range chunk.Values {
		if r.Prime {
			primes++
		}
	}
	fmt.Printf("primes in [1000000, 1001000): %d\n", primes)

	// Spread: enough small tasks that both workers take some.
	var who []*future.Future[int]
	for i := range 200 {
		f, err := executor.Call(ctx, ex, whoRunsFn, i)
		if err != nil {
			return err
		}
		who = append(who, f)
	}
	for _, f := range who {
		pid, err := f.Result(ctx)
		if err != nil {
			return err
		}
		pids[pid] = true
	}
	fmt.Printf("tasks ran in %d worker processes (this process is pid %d)\n", len(pids), os.Getpid())

	// Drain: wait for everything, stop the workers and the server.
	if err := ex.Shutdown(ctx); err != nil {
		return err
	}
	fmt.Println("shut down; worker pids:", slices.Sorted(maps.Keys(pids)))
	return nil
}
