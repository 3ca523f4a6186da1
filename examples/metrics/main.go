// Command metrics serves the Prometheus metrics of a goroutine pool while a
// job runs on it, so that you can watch them live.
//
// It makes a private registry (prometheus.NewRegistry; nothing goes on the
// global one), registers package metrics on it, gives the pool the hooks
// for the executor name "job", and serves the registry on /metrics with
// promhttp. The job submits tasks that take a few milliseconds; some fail,
// panic or overrun their deadline, so every outcome shows up.
//
// By default it runs the job for -duration (3s), scrapes its own /metrics
// once, prints the gofutures lines and exits:
//
//	go run ./examples/metrics
//
// With -serve it keeps the job running and serving until interrupted
// (Ctrl-C), for curl, Prometheus or the Grafana dashboard in
// metrics/dashboard.json:
//
//	go run ./examples/metrics -serve
//	curl -s localhost:9464/metrics | grep gofutures_
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "address to serve /metrics on")
	serve := flag.Bool("serve", false, "keep running and serving until interrupted")
	duration := flag.Duration("duration", 3*time.Second, "how long the job runs without -serve")
	workers := flag.Int("workers", 4, "goroutines in the pool")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*addr, *serve, *duration, *workers); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, serve bool, duration time.Duration, workers int) error {
	// Metrics on a private registry, served by promhttp. The tasks here
	// take milliseconds, so timing every one of them costs nothing worth
	// saving (the default times one in 16, for trivial tasks).
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.WithTimingSample(1))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w (choose another address with -addr)", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/metrics"
	fmt.Println("serving", url)

	// The pool, with the hooks that feed the metrics.
	pool, err := executor.NewGoPool(executor.WithName("job"), executor.WithWorkers(workers),
		executor.WithIdleTimeout(time.Second), executor.WithHooks(m.Hooks("job")))
	if err != nil {
		return err
	}

	// The job runs in the background until it is told to stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	jobCtx, stopJob := context.WithCancel(ctx)
	defer stopJob()
	submitted := make(chan int, 1)
	go func() { submitted <- job(jobCtx, pool) }()

	if serve {
		fmt.Println("press Ctrl-C to stop")
		<-ctx.Done()
	} else {
		// Let it run, then scrape /metrics once while it is still busy.
		select {
		case <-time.After(duration):
		case <-ctx.Done():
		}
		if err := scrape(ctx, url); err != nil {
			return err
		}
	}
	stopJob()
	fmt.Printf("job submitted %d tasks\n", <-submitted)

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.Shutdown(sctx); err != nil {
		return err
	}
	return srv.Shutdown(sctx)
}

// job submits tasks in bursts until ctx ends, and returns how many. Tasks
// sleep 1–20ms; about 1 in 20 fails, 1 in 100 panics and 1 in 50 overruns
// its 15ms deadline.
func job(ctx context.Context, pool executor.Executor) int {
	n := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		for range rand.IntN(10) {
			work := time.Duration(1+rand.IntN(20)) * time.Millisecond
			kind := rand.IntN(100)
			_, err := executor.Submit(ctx, pool, func(ctx context.Context) (struct{}, error) {
				if kind < 2 { // has a deadline it cannot meet
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 15*time.Millisecond)
					defer cancel()
					work = 50 * time.Millisecond
				}
				select {
				case <-time.After(work):
				case <-ctx.Done():
					return struct{}{}, ctx.Err()
				}
				switch {
				case kind == 2:
					panic("bad input")
				case kind < 8:
					return struct{}{}, errors.New("upstream said no")
				}
				return struct{}{}, nil
			})
			if err != nil {
				return n
			}
			n++
		}
	}
}

// scrape fetches url once and prints the gofutures samples that are not
// zero, leaving out the histogram buckets.
func scrape(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	fmt.Println("scraped", url+":")
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gofutures_") || strings.Contains(line, "_bucket{") || strings.HasSuffix(line, " 0") {
			continue
		}
		fmt.Println(" ", line)
	}
	return sc.Err()
}
