package process_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/process"
)

// Registered at package level, so that the helper processes (this program,
// started again) register them too.
var (
	square = process.MustRegister(reg, "square", func(_ context.Context, x int) (int, error) { return x * x, nil })

	errNegative = reg.MustRegisterError("example.errNegative", errors.New("negative input"))

	sqrt = process.MustRegister(reg, "sqrt", func(_ context.Context, x float64) (float64, error) {
		if x < 0 {
			return 0, fmt.Errorf("sqrt(%v): %w", x, errNegative)
		}
		r := x
		for range 50 {
			r = (r + x/r) / 2
		}
		return r, nil
	})
)

func Example() {
	// In main: process.ServeIfHelper(reg) first (here TestMain does it).
	ctx := context.Background()
	pool, err := process.New(reg, process.WithWorkers(2))
	if err != nil {
		panic(err)
	}
	defer pool.Shutdown(ctx)

	f, err := executor.Call(ctx, pool, square, 7)
	if err != nil {
		panic(err)
	}
	v, err := f.Result(ctx)
	fmt.Println(v, err)

	// Many arguments in one message.
	c, err := executor.CallChunk(ctx, pool, square, []int{1, 2, 3, 4})
	if err != nil {
		panic(err)
	}
	chunk, err := c.Result(ctx)
	fmt.Println(chunk.Values, err)
	// Output:
	// 49 <nil>
	// [1 4 9 16] <nil>
}

func ExampleRegistry_RegisterError() {
	ctx := context.Background()
	pool, err := process.New(reg, process.WithWorkers(1))
	if err != nil {
		panic(err)
	}
	defer pool.Shutdown(ctx)

	f, err := executor.Call(ctx, pool, sqrt, -1)
	if err != nil {
		log.Fatal(err)
	}
	_, err = f.Result(ctx)
	var re *process.RemoteError
	fmt.Println(errors.Is(err, errNegative), errors.As(err, &re), re.Type)
	fmt.Println(err)
	// Output:
	// true true *fmt.wrapError
	// sqrt(-1): negative input
}
