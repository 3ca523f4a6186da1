// Command batch runs a CPU-bound batch job on a pool and draws a progress
// bar in the terminal as results arrive (pool.WithProgress).
//
// It tests n odd numbers of about 10^12 for primality by trial division,
// spread over the CPU cores by a goroutine executor, and prints how many are
// prime. Run it with
//
//	go run ./examples/batch            # 10000 numbers, a few seconds
//	go run ./examples/batch -n 20000   # bigger batch
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

func main() {
	n := flag.Int("n", 10000, "how many numbers to test")
	workers := flag.Int("workers", runtime.NumCPU(), "how many goroutines run the job")
	chunk := flag.Int("chunk", 20, "items per task (0: the Map default, ceil(n / (4 × workers)))")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *n, *workers, *chunk); err != nil {
		fmt.Fprintln(os.Stderr, "batch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, n, workers, chunk int) error {
	ex, err := executor.NewGoPool(executor.WithWorkers(workers))
	if err != nil {
		return err
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		return err
	}
	defer func() {
		p.Close()
		_ = p.Join(ctx)
	}()

	numbers := make([]int64, n)
	for i := range numbers {
		numbers[i] = 1_000_000_000_001 + 2*int64(i)
	}
	bar := newBar(out, 40)
	opts := []pool.CallOption{pool.WithProgress(bar.update)}
	if chunk > 0 {
		opts = append(opts, pool.WithChunkSize(chunk))
	}
	start := time.Now()
	prime, err := pool.Map(ctx, p, executor.Fn(isPrime), numbers, opts...)
	if err != nil {
		return err
	}
	count := 0
	for _, ok := range prime {
		if ok {
			count++
		}
	}
	fmt.Fprintf(out, "\n%d of %d numbers are prime (%d workers, %v)\n", count, n, workers, time.Since(start).Round(time.Millisecond))
	return nil
}

// isPrime tests n by trial division: about sqrt(n)/6 divisions, a
// millisecond or so for n near 10^12.
func isPrime(_ context.Context, n int64) (bool, error) {
	if n < 2 {
		return false, nil
	}
	if n%2 == 0 || n%3 == 0 {
		return n < 4, nil
	}
	for d := int64(5); d*d <= n; d += 6 {
		if n%d == 0 || n%(d+2) == 0 {
			return false, nil
		}
	}
	return true, nil
}

// bar draws a progress bar on one terminal line. update is called by the
// pool one report at a time, so it needs no lock.
type bar struct {
	out   io.Writer
	width int
	start time.Time
	last  time.Time
}

func newBar(out io.Writer, width int) *bar {
	return &bar{out: out, width: width, start: time.Now()}
}

func (b *bar) update(done, total int) {
	now := time.Now()
	if done < total && now.Sub(b.last) < 50*time.Millisecond {
		return // redraw at most 20 times a second
	}
	b.last = now
	frac := float64(done) / float64(max(total, 1))
	filled := int(frac * float64(b.width))
	elapsed := now.Sub(b.start)
	eta := "?"
	if done > 0 {
		eta = (time.Duration(float64(elapsed)/frac) - elapsed).Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(b.out, "\r[%s%s] %3.0f%% %d/%d  %.0f items/s  eta %s   ",
		strings.Repeat("#", filled), strings.Repeat(".", b.width-filled),
		100*frac, done, total, float64(done)/elapsed.Seconds(), eta)
}
