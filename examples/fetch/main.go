// Command fetch fetches many URLs the way real fan-out needs: bounded
// concurrency, pacing per host, retries of transient failures with backoff,
// a timeout per request, results as they complete, and a summary.
//
//   - -workers requests in flight at most, on one goroutine pool
//     (executor.NewGoPool, executor.WithWorkers);
//   - per host, at most -per-host in flight and -rate requests per second
//     (executor.NewKeyLimit keyed by the URL's host: two hosts do not slow
//     each other, and a request waiting for its host holds no worker);
//   - -attempts attempts per URL (executor.NewRetry): 5xx answers, 429,
//     timeouts and broken connections are retried with capped, jittered
//     exponential backoff; a 429's Retry-After is honoured; a 404 is not
//     retried;
//   - each attempt has its own deadline (-timeout), derived from the ctx;
//   - results come as they complete, each with the index of its URL
//     (pool.ImapUnorderedIndex): no map from futures to URLs;
//   - the summary: ok, failed after retries, failed at once, retries, p50 and
//     p99 latency, and the rate each host saw.
//
// By default it starts two local HTTP servers on 127.0.0.1 (two hosts), with
// endpoints that are fast, slow, fail transiently (503 twice), drop the
// connection once, answer 429 with Retry-After once, fail for good (500),
// are missing (404) or hang, so it works offline and finishes in a few
// seconds:
//
//	go run ./examples/fetch
//
// With -urls it fetches real URLs from a file, one per line (blank lines and
// lines starting with # are skipped):
//
//	go run ./examples/fetch -urls urls.txt -workers 16 -per-host 4 -rate 10 -timeout 5s
//
// It exits 0 when every URL was tried (whatever the outcomes), and 1 when it
// cannot start or the local run did not go as designed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
	"golang.org/x/time/rate"
)

func main() {
	workers := flag.Int("workers", 16, "requests in flight at most")
	perHost := flag.Int("per-host", 4, "requests in flight at most per host")
	perSec := flag.Float64("rate", 50, "requests per second at most per host")
	attempts := flag.Int("attempts", 4, "attempts per URL")
	timeout := flag.Duration("timeout", 0, "deadline of each attempt (default 300ms for the local servers, 10s with -urls)")
	urlFile := flag.String("urls", "", "file of URLs to fetch, one per line (default: local test servers)")
	flag.Parse()
	log.SetFlags(0)

	var urls []string
	var sites []*site
	if *urlFile != "" {
		var err error
		if urls, err = readURLs(*urlFile); err != nil {
			log.Fatal(err)
		}
		if *timeout == 0 {
			*timeout = 10 * time.Second
		}
	} else {
		a, b := startSite(), startSite()
		defer a.Close()
		defer b.Close()
		sites = []*site{a, b}
		for i, u := range a.urls(100) { // the two hosts' URLs interleaved
			urls = append(urls, u, b.urls(100)[i])
		}
		if *timeout == 0 {
			*timeout = 300 * time.Millisecond
		}
	}
	cfg := config{workers: *workers, perHost: *perHost, rate: rate.Limit(*perSec), attempts: *attempts, timeout: *timeout}
	sum, err := fetchAll(context.Background(), urls, cfg)
	if err != nil {
		log.Fatal(err)
	}
	sum.print(os.Stdout, sites)
	if sites != nil {
		if err := sum.check(len(urls), sites, cfg); err != nil {
			log.Fatal(err)
		}
	}
}

type config struct {
	workers, perHost, attempts int
	rate                       rate.Limit
	timeout                    time.Duration
}

// page is what one fetch returns.
type page struct {
	status int
	bytes  int64
	took   time.Duration // of the attempt that answered
}

// statusError is an HTTP answer that is not a success. 5xx and 429 say
// they are temporary, so the retry policy's default test retries them; a
// Retry-After header sets the wait before the next attempt.
type statusError struct {
	code  int
	after time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
}
func (e *statusError) Temporary() bool           { return e.code >= 500 || e.code == http.StatusTooManyRequests }
func (e *statusError) RetryAfter() time.Duration { return e.after }

// fetch gets u with its own deadline and reads the whole body.
func fetch(ctx context.Context, client *http.Client, u string, timeout time.Duration) (page, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return page{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	p := page{status: resp.StatusCode, bytes: n, took: time.Since(start)}
	if err != nil {
		return p, err
	}
	if resp.StatusCode >= 400 {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return p, &statusError{code: resp.StatusCode, after: time.Duration(secs) * time.Second}
	}
	return p, nil
}

// transient is the retry test: the default one (temporary errors and
// timeouts) and a connection the server broke.
func transient(err error) bool {
	return executor.Retryable(err) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return u
}

func fetchAll(ctx context.Context, urls []string, cfg config) (*summary, error) {
	sum := &summary{start: time.Now()}
	hooks := &executor.Hooks{Retried: func(time.Duration) { sum.retries.Add(1) }}
	ex, err := executor.NewGoPool(executor.WithName("fetch"), executor.WithWorkers(cfg.workers), executor.WithHooks(hooks))
	if err != nil {
		return nil, err
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		return nil, err
	}
	defer func() { p.Close(); _ = p.Join(ctx) }()
	client := &http.Client{}
	defer client.CloseIdleConnections()

	get := executor.Fn(func(ctx context.Context, u string) (page, error) { return fetch(ctx, client, u, cfg.timeout) })
	retry := executor.NewRetry(cfg.attempts, executor.RetryBackoff(100*time.Millisecond, 2*time.Second), executor.RetryIf(transient))
	perHost := executor.NewKeyLimit(hostOf, executor.KeyConcurrency(cfg.perHost), executor.KeyRate(cfg.rate, 1))
	fmt.Printf("fetching %d URLs: %d in flight, %d per host at %v/s, %d attempts of %v each at most\n",
		len(urls), cfg.workers, cfg.perHost, cfg.rate, cfg.attempts, cfg.timeout)

	for r, err := range pool.ImapUnorderedIndex(ctx, p, get, slices.Values(urls), pool.WithTaskOptions(retry, perHost)) {
		if r.Index < 0 {
			return nil, err // the loop ended: ctx, or the pool refused work
		}
		sum.add(urls[r.Index], r.Value, err)
	}
	sum.elapsed = time.Since(sum.start)
	return sum, nil
}

// summary counts the outcomes.
type summary struct {
	start                   time.Time
	elapsed                 time.Duration
	ok, gaveUp, failedFirst int
	retries                 atomic.Int64
	latencies               []time.Duration
}

func (s *summary) add(u string, p page, err error) {
	var re *executor.RetryError
	switch {
	case err == nil:
		s.ok++
		s.latencies = append(s.latencies, p.took)
		fmt.Printf("  ok      %d %6.1fms  %s\n", p.status, float64(p.took.Microseconds())/1000, u)
	case errors.As(err, &re):
		s.gaveUp++
		fmt.Printf("  gave up after %d attempts  %s: %v\n", re.Attempts, u, re.Err)
	default:
		s.failedFirst++
		fmt.Printf("  failed  %s: %v\n", u, err)
	}
}

func (s *summary) quantile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Sorted(slices.Values(s.latencies))
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

func (s *summary) print(w io.Writer, sites []*site) {
	fmt.Fprintf(w, "%d ok, %d failed after retries, %d failed at once (not retryable); %d retries; latency p50 %v, p99 %v; %v in all\n",
		s.ok, s.gaveUp, s.failedFirst, s.retries.Load(),
		s.quantile(0.50).Round(10*time.Microsecond), s.quantile(0.99).Round(10*time.Microsecond), s.elapsed.Round(time.Millisecond))
	for _, st := range sites {
		n, r := st.rate()
		fmt.Fprintf(w, "  host %s saw %d requests, at %.1f/s at most over any second\n", st.host(), n, r)
	}
}

// check verifies a local run: every URL tried, the outcomes the test
// servers are built to produce, and no host paced faster than the rate.
func (s *summary) check(n int, sites []*site, cfg config) error {
	if got := s.ok + s.gaveUp + s.failedFirst; got != n {
		return fmt.Errorf("%d results for %d URLs", got, n)
	}
	if s.gaveUp != 2*len(sites) || s.failedFirst != len(sites) {
		return fmt.Errorf("%d gave up, %d failed at once; want %d and %d", s.gaveUp, s.failedFirst, 2*len(sites), len(sites))
	}
	for _, st := range sites {
		if _, r := st.rate(); r > float64(cfg.rate)*1.1+1 { // +1: the burst
			return fmt.Errorf("host %s saw %.1f requests/s, above the rate of %v", st.host(), r, cfg.rate)
		}
	}
	return nil
}

// readURLs reads a file of URLs, one per line.
func readURLs(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var urls []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		urls = append(urls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s: no URLs", name)
	}
	return urls, nil
}
