// Command batch runs a CPU-bound batch job on a pool and shows its progress
// as results arrive (pool.WithProgress).
//
// It tests n odd numbers of about 10^12 for primality by trial division,
// spread over the CPU cores by a goroutine executor, and prints how many are
// prime. On a terminal it draws a progress bar with
// github.com/vbauerster/mpb/v8, which fits the bar to the terminal's width
// (read again at every frame, so a resized window is followed) and shows
// the count, the percentage, the rate and the time left; when stdout is not
// a terminal (a file, a pipe, CI) it prints a plain line every -every
// (default 1s) and one at the end, instead of redrawing a line with \r.
// Run it with
//
//	go run ./examples/batch            # 10000 numbers, a few seconds
//	go run ./examples/batch -n 20000   # bigger batch
//	go run ./examples/batch > out.txt  # plain lines
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

func main() {
	n := flag.Int("n", 10000, "how many numbers to test")
	workers := flag.Int("workers", runtime.NumCPU(), "how many goroutines run the job")
	chunk := flag.Int("chunk", 20, "items per task (0: the Map default, ceil(n / (4 × workers)))")
	every := flag.Duration("every", time.Second, "when stdout is not a terminal: print a progress line this often (0: only the last)")
	flag.Parse()
	var bar progressBar
	if term.IsTerminal(int(os.Stdout.Fd())) {
		bar = newTermBar(os.Stdout, *n)
	} else {
		bar = newLines(os.Stdout, *every)
	}
	if err := run(context.Background(), os.Stdout, bar, *n, *workers, *chunk); err != nil {
		fmt.Fprintln(os.Stderr, "batch:", err)
		os.Exit(1)
	}
}

// progressBar shows a call's progress: update is given to
// pool.WithProgress; wait is called when the call has returned, before
// anything else is printed.
type progressBar interface {
	update(done, total int)
	wait()
}

func run(ctx context.Context, out io.Writer, bar progressBar, n, workers, chunk int) error {
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
	opts := []pool.CallOption{pool.WithProgress(bar.update)}
	if chunk > 0 {
		opts = append(opts, pool.WithChunkSize(chunk))
	}
	start := time.Now()
	prime, err := pool.Map(ctx, p, executor.Fn(isPrime), numbers, opts...)
	bar.wait()
	if err != nil {
		return err
	}
	count := 0
	for _, ok := range prime {
		if ok {
			count++
		}
	}
	fmt.Fprintf(out, "%d of %d are prime (%d workers, %v)\n", count, n, workers, time.Since(start).Round(time.Millisecond))
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

// termBar is an mpb bar: mpb redraws it about 6 times a second from its
// own goroutine, at the terminal's current width (the bar itself shrinks;
// the numbers around it keep their place), and leaves it, complete, on
// its line when the call ends.
type termBar struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

func newTermBar(out io.Writer, total int, opts ...mpb.ContainerOption) *termBar {
	p := mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(out), mpb.WithRefreshRate(150 * time.Millisecond)}, opts...)...)
	bar := p.AddBar(int64(total),
		mpb.PrependDecorators(
			decor.CountersNoUnit("%d/%d", decor.WCSyncWidth),
			decor.Percentage(decor.WC{W: 6}),
		),
		mpb.AppendDecorators(
			decor.AverageSpeed(nil, "%.0f/s", decor.WC{W: 8}),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WC{W: 6}), " done"),
		),
	)
	return &termBar{p: p, bar: bar}
}

func (b *termBar) update(done, total int) {
	if total >= 0 {
		b.bar.SetTotal(int64(total), false)
	}
	b.bar.SetCurrent(int64(done))
}

func (b *termBar) wait() {
	if !b.bar.Completed() {
		b.bar.Abort(false) // the call failed: leave the bar where it stopped
	}
	b.p.Wait()
}

// lines prints the progress as plain lines, for output that is not a
// terminal: one every interval at most, and one when the call is done.
type lines struct {
	out   io.Writer
	every time.Duration
	start time.Time
	last  time.Time
}

func newLines(out io.Writer, every time.Duration) *lines {
	now := time.Now()
	return &lines{out: out, every: every, start: now, last: now}
}

func (l *lines) update(done, total int) {
	now := time.Now()
	if done < total && (l.every <= 0 || now.Sub(l.last) < l.every) {
		return
	}
	l.last = now
	elapsed := now.Sub(l.start)
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	eta := "?"
	if done > 0 && total >= 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(100 * time.Millisecond).String()
	}
	pct := 100 * float64(done) / float64(max(total, 1))
	fmt.Fprintf(l.out, "progress: %d/%d (%.0f%%), %.0f items/s, eta %s, elapsed %v\n",
		done, total, pct, rate, eta, elapsed.Round(100*time.Millisecond))
}

func (l *lines) wait() {}
