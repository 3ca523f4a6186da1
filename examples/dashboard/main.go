// Command dashboard runs a job on two executors while serving the live
// dashboard of package dashboard, and prints the page's address.
//
// A process pool ("primes", one helper per core) tests numbers of about
// 10^12 for primality through pool.Map, with the call's progress on the
// page; one number in 4000 makes its helper exit, so the page shows a helper
// dying, its pid and its replacement. A goroutine pool ("fetch") runs
// tasks of a few milliseconds, of which about 1 in 20 fails; the program
// records their errors on the page (Dashboard.Failed), and the throughput
// chart and the run-time distribution fill in as it goes.
//
// By default it runs the job for -duration (5s), reads its own page's JSON
// once, prints a summary and exits. With -wait it keeps serving once the
// job is done, until interrupted:
//
//	go run ./examples/dashboard
//	go run ./examples/dashboard -addr 127.0.0.1:9465 -duration 2m -wait
//	# open http://127.0.0.1:9465/debug/gofutures/
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
)

// reg holds the functions the helper processes run; the program is its own
// helper (process.ServeIfHelper, first in main).
var reg = process.NewRegistry()

// isPrime tests n; for one n in 4000 it makes its helper exit instead, as a
// crash in a C library would, which fails only the task it was running.
var isPrime = process.MustRegister(reg, "dashboard.isPrime", func(_ context.Context, n int64) (bool, error) {
	if n%8000 == 4001 {
		os.Exit(3)
	}
	return prime(n), nil
})

// prime reports whether the odd n > 2 is prime, by trial division: about a
// millisecond for the numbers the job tests.
func prime(n int64) bool {
	for d := int64(3); d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func main() {
	process.ServeIfHelper(reg)
	addr := flag.String("addr", "127.0.0.1:0", "address to serve the dashboard on (port 0: any free port)")
	duration := flag.Duration("duration", 5*time.Second, "how long the job runs")
	wait := flag.Bool("wait", false, "keep serving after the job, until interrupted")
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *duration, *wait); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr string, duration time.Duration, wait bool) error {
	d, err := dashboard.New(dashboard.WithTitle("gofutures example job"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w (choose another address with -addr)", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/gofutures/", d) // the net/http/pprof convention
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/debug/gofutures/"
	fmt.Println("dashboard:", url)

	helpers, err := process.New(reg, process.WithName("primes"), process.WithHooks(d.Hooks("primes")))
	if err != nil {
		return err
	}
	d.Helpers("primes", helpers.Pids)
	fetch, err := executor.NewGoPool(executor.WithName("fetch"), executor.WithWorkers(8), executor.WithHooks(d.Hooks("fetch")))
	if err != nil {
		return err
	}
	p, err := pool.New(helpers)
	if err != nil {
		return err
	}

	jobCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	var batches, fetched int
	wg.Go(func() { batches = primeBatches(jobCtx, d, p) })
	wg.Go(func() { fetched = fetchJob(jobCtx, d, fetch) })
	wg.Wait()
	fmt.Printf("job done: %d prime batches, %d fetch tasks\n", batches, fetched)

	if err := summary(ctx, url); err != nil {
		return err
	}
	if wait {
		fmt.Println("still serving", url, "- press Ctrl-C to stop")
		<-ctx.Done()
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	p.Close()
	return errors.Join(p.Join(sctx), helpers.Shutdown(sctx), fetch.Shutdown(sctx), srv.Shutdown(sctx))
}

// primeBatches runs pool.Map over batches of 4000 numbers, each call with
// its progress on the page, until ctx ends, and returns how many it ran.
func primeBatches(ctx context.Context, d *dashboard.Dashboard, p *pool.Pool) int {
	n := 0
	for ctx.Err() == nil {
		numbers := make([]int64, 4000)
		for i := range numbers {
			numbers[i] = 1_000_000_000_001 + 2*int64(n*len(numbers)+i)
		}
		_, err := pool.Map(ctx, p, isPrime, numbers, pool.WithChunkSize(50),
			pool.WithProgress(d.Progress(fmt.Sprintf("primes batch %d", n+1))))
		if ctx.Err() == nil {
			d.Failed("primes", err) // the first failed item; nil records nothing
		}
		n++
	}
	return n
}

// fetchJob submits tasks of 1-20ms in bursts until ctx ends; about 1 in 20
// fails. It returns how many it submitted.
func fetchJob(ctx context.Context, d *dashboard.Dashboard, ex executor.Executor) int {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		for range rand.IntN(2 * runtime.NumCPU()) {
			work := time.Duration(1+rand.IntN(20)) * time.Millisecond
			fail := rand.IntN(20) == 0
			id := n
			f, err := executor.Submit(ctx, ex, func(ctx context.Context) (int, error) {
				select {
				case <-time.After(work): // the work: waiting for a slow server
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				if fail {
					return 0, fmt.Errorf("fetch %d: upstream said 503 after %v", id, work)
				}
				return id, nil
			})
			if err != nil {
				return n
			}
			n++
			wg.Go(func() {
				_, _ = f.Result(context.Background()) // the dashboard's hooks record the failures
			})
		}
	}
}

// summary reads the page's JSON once and prints a line per executor.
func summary(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"api/state", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st struct {
		Executors []struct {
			Name                              string
			Submitted, Done, Failed, Restarts uint64
			Failures                          []struct{ Error string }
		}
		Calls []struct{ Name string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return fmt.Errorf("GET %sapi/state: %w", url, err)
	}
	fmt.Printf("the page shows %d pool calls and:\n", len(st.Calls))
	for _, x := range st.Executors {
		last := ""
		if len(x.Failures) > 0 {
			last = "; last failure: " + x.Failures[0].Error
		}
		fmt.Printf("  %s: %d submitted, %d done, %d failed, %d helper restarts%s\n", x.Name, x.Submitted, x.Done, x.Failed, x.Restarts, last)
	}
	return nil
}
