// Command embed is the first program to run: it embeds a goroutine
// executor in an application, the way Python code uses a
// ThreadPoolExecutor.
//
// It shows, in order:
//
//   - starting a pool of goroutines (executor.NewGoPool) and fanning work
//     out on it (executor.Submit), each call returning a *future.Future;
//   - waiting for the first result (future.Wait with future.FirstCompleted);
//   - cancelling a task that has not started (Future.Cancel);
//   - printing results as they complete (future.AsCompleted), one of them
//     an error;
//   - shutting down gracefully (Shutdown), after which Submit fails with
//     executor.ErrShutdown.
//
// Run it with:
//
//	go run ./examples/embed
//
// Everything is deterministic except the order in which results complete.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// errNotFound is what lookup returns for a word it does not know.
var errNotFound = errors.New("not in the dictionary")

// lookup stands for slow work, such as a call to another service: it takes
// 10ms per letter and fails for words that start with an x.
func lookup(ctx context.Context, word string) (string, error) {
	select {
	case <-time.After(time.Duration(len(word)) * 10 * time.Millisecond):
	case <-ctx.Done(): // the pool was stopped hard
		return "", context.Cause(ctx)
	}
	if strings.HasPrefix(word, "x") {
		return "", fmt.Errorf("lookup %q: %w", word, errNotFound)
	}
	return strings.ToUpper(word), nil
}

func main() {
	workers := flag.Int("workers", 3, "number of goroutines running tasks")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*workers); err != nil {
		log.Fatal(err)
	}
}

func run(workers int) error {
	ctx := context.Background()

	// 1. An executor: a pool of at most `workers` goroutines. It must be
	//    shut down to release them.
	pool, err := executor.NewGoPool(executor.WithName("embed"), executor.WithWorkers(workers))
	if err != nil {
		return err
	}

	// 2. Fan out: each Submit returns at once with a future.
	words := []string{"go", "future", "executor", "pool", "xylophone", "channel", "context", "wait"}
	fs := make([]*future.Future[string], 0, len(words))
	for _, w := range words {
		f, err := executor.Submit(ctx, pool, func(ctx context.Context) (string, error) { return lookup(ctx, w) })
		if err != nil {
			return err
		}
		fs = append(fs, f)
	}
	fmt.Printf("submitted %d lookups to %d workers\n", len(fs), pool.Workers())

	// 3. Cancel work that has not started: this task is behind the others
	//    in the queue, so it is still pending and Cancel succeeds.
	extra, err := executor.Submit(ctx, pool, func(ctx context.Context) (string, error) { return lookup(ctx, "extra") })
	if err != nil {
		return err
	}
	fmt.Println("cancel a pending task:", extra.Cancel(), extra.State())

	// 4. Wait for the first result, whichever it is.
	done, notDone, err := future.Wait(ctx, fs, future.FirstCompleted)
	if err != nil {
		return err
	}
	first, _ := done[0].Result(ctx)
	fmt.Printf("first result: %s (%d still to come)\n", first, len(notDone))

	// 5. Every result as it completes. A future's Result returns the task's
	//    value or its error; futures already done come first.
	var failed int
	for f, err := range future.AsCompleted(ctx, fs) {
		if err != nil { // only when ctx ends before every future is done
			return err
		}
		v, err := f.Result(ctx)
		if errors.Is(err, errNotFound) {
			failed++
			fmt.Println("  failed:", err)
			continue
		}
		fmt.Println("  done:  ", v)
	}
	fmt.Printf("%d ok, %d failed\n", len(fs)-failed, failed)

	// 6. Shut down gracefully: wait (at most 5s) for running work and for
	//    the workers to exit. Afterwards the pool refuses work.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Shutdown(sctx); err != nil {
		return err
	}
	_, err = executor.Submit(ctx, pool, func(ctx context.Context) (string, error) { return lookup(ctx, "late") })
	fmt.Println("submit after shutdown:", err, errors.Is(err, executor.ErrShutdown))
	return nil
}
