// Command fetch fetches many URLs at once with bounded concurrency: the
// URL fan-out of Python's concurrent.futures documentation, in Go.
//
// Each URL is a task on a goroutine pool of -workers goroutines
// (executor.NewGoPool with executor.WithWorkers), so at most that many
// requests are in flight. Each request has its own deadline
// (context.WithTimeout, -timeout). Results are printed as they complete
// (future.AsCompleted), then a summary: how many succeeded, failed or timed
// out, and the total time.
//
// By default it starts a local HTTP server on 127.0.0.1 (httptest) with
// fast, slow and failing endpoints, so it works offline, touches only the
// loopback interface, and finishes in about a second:
//
//	go run ./examples/fetch
//
// With -urls it fetches real URLs from a file, one per line (blank lines
// and lines starting with # are skipped):
//
//	go run ./examples/fetch -urls urls.txt -workers 8 -timeout 5s
//
// (-timeout defaults to 300ms for the local server and 10s with -urls.)
//
// It exits 0 when every URL was tried (whatever the outcomes), and 1 when
// it cannot start.
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
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

func main() {
	workers := flag.Int("workers", 4, "maximum number of requests in flight")
	timeout := flag.Duration("timeout", 0, "deadline of each request (default 300ms for the local server, 10s with -urls)")
	urlFile := flag.String("urls", "", "file of URLs to fetch, one per line (default: a local test server)")
	flag.Parse()
	log.SetFlags(0)

	var urls []string
	if *urlFile != "" {
		var err error
		if urls, err = readURLs(*urlFile); err != nil {
			log.Fatal(err)
		}
		if *timeout == 0 {
			*timeout = 10 * time.Second
		}
	} else {
		srv := httptest.NewServer(testHandler())
		defer srv.Close()
		urls = testURLs(srv.URL)
		if *timeout == 0 {
			*timeout = 300 * time.Millisecond
		}
		fmt.Printf("local test server at %s\n", srv.URL)
	}
	if err := fetchAll(urls, *workers, *timeout); err != nil {
		log.Fatal(err)
	}
}

// result is what one fetch returns.
type result struct {
	status int
	bytes  int64
	took   time.Duration
}

// fetch gets url with its own deadline and reads the whole body. A status
// of 400 or more is an error.
func fetch(ctx context.Context, client *http.Client, url string, timeout time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return result{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	r := result{status: resp.StatusCode, bytes: n, took: time.Since(start)}
	if err != nil {
		return r, err
	}
	if resp.StatusCode >= 400 {
		return r, fmt.Errorf("HTTP %s", resp.Status)
	}
	return r, nil
}

func fetchAll(urls []string, workers int, timeout time.Duration) error {
	ctx := context.Background()
	pool, err := executor.NewGoPool(executor.WithName("fetch"), executor.WithWorkers(workers))
	if err != nil {
		return err
	}
	defer pool.Shutdown(ctx)
	client := &http.Client{}
	defer client.CloseIdleConnections()

	start := time.Now()
	futures := make([]*future.Future[result], 0, len(urls))
	urlOf := make(map[*future.Future[result]]string, len(urls))
	for _, u := range urls {
		f, err := executor.Submit(ctx, pool, func(ctx context.Context) (result, error) {
			return fetch(ctx, client, u, timeout)
		})
		if err != nil {
			return err
		}
		futures = append(futures, f)
		urlOf[f] = u
	}
	fmt.Printf("fetching %d URLs, %d at a time, %v each at most\n", len(urls), workers, timeout)

	var ok, failed, timedOut int
	for f, err := range future.AsCompleted(ctx, futures) {
		if err != nil {
			return err
		}
		r, err := f.Result(ctx)
		switch {
		case err == nil:
			ok++
			fmt.Printf("  ok        %-40s %d, %d bytes in %v\n", urlOf[f], r.status, r.bytes, r.took.Round(100*time.Microsecond))
		case errors.Is(err, context.DeadlineExceeded):
			timedOut++
			fmt.Printf("  timed out %-40s after %v\n", urlOf[f], timeout)
		default:
			failed++
			fmt.Printf("  failed    %-40s %v\n", urlOf[f], err)
		}
	}
	fmt.Printf("%d ok, %d failed, %d timed out in %v\n", ok, failed, timedOut, time.Since(start).Round(time.Millisecond))
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

// testHandler serves the endpoints of the default mode:
//
//	/fast/N        200 at once
//	/slow?d=DUR    200 after DUR, unless the client gives up first
//	/fail          500
//	/missing       404
func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/fast/{n}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page %s\n", r.PathValue("n"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(d):
			fmt.Fprintf(w, "slept %v\n", d)
		case <-r.Context().Done(): // the client timed out: stop at once
		}
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "something broke", http.StatusInternalServerError)
	})
	return mux
}

// testURLs lists the URLs of the default mode: with the default -timeout of
// 300ms, 8 succeed, 2 fail and 2 time out.
func testURLs(base string) []string {
	var urls []string
	for i := range 6 {
		urls = append(urls, fmt.Sprintf("%s/fast/%d", base, i))
	}
	return append(urls,
		base+"/slow?d=50ms",
		base+"/slow?d=150ms",
		base+"/slow?d=2s",
		base+"/slow?d=10s",
		base+"/fail",
		base+"/missing",
	)
}
