package cluster_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/gofutures/gofutures/cluster"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

// The functions the cluster runs are registered by name at package level, so
// that every worker (the same program, on any machine) has them.
var (
	exampleReg = process.NewRegistry()
	cube       = process.MustRegister(exampleReg, "example.cube", func(_ context.Context, n int) (int, error) {
		return n * n * n, nil
	})
)

// An embedded server and, for the example, a worker in the same process;
// real deployments run workers in other processes (WithWorkerProcesses,
// ServeIfWorker) or on other machines.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ex, err := cluster.New(ctx, exampleReg, cluster.WithToken("example-token"), cluster.WithStoreDir(dir))
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := cluster.NewWorker(exampleReg, cluster.WithURL(ex.URL()), cluster.WithToken("example-token"))
	if err != nil {
		log.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(wctx) }()

	f, err := executor.Call(ctx, ex, cube, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Result(ctx))
	c, err := executor.CallChunk(ctx, ex, cube, []int{1, 2, 3, 4})
	if err != nil {
		log.Fatal(err)
	}
	chunk, err := c.Result(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(chunk.Values)

	_ = ex.Shutdown(ctx)
	stopWorker()
	<-workerDone
	// Output:
	// 27 <nil>
	// [1 8 27 64]
}
