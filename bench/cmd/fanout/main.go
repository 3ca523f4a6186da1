// Command fanout runs the URL fan-out of the README's guide, written with
// gofutures, errgroup, conc and Python's concurrent.futures, against one
// local server, and checks that each version gets every URL's expected
// outcome. The versions are the files task_*.go and task_*.py; the README's
// line counts are their `wc -l`. The shared helpers (get, transient, hostOf,
// report and their Python twins in common.py) are not counted: every
// version uses the same ones.
//
//	cd bench && go run ./cmd/fanout            # every version
//	cd bench && go run ./cmd/fanout -python="" # Go versions only
//
// Task A: 200 URLs, 16 at a time, a timeout per request, each result
// reported with its URL as it completes. Task B: the same, plus up to 4
// attempts per URL for transient failures (503, timeouts) with capped,
// jittered exponential backoff that ends with the ctx, and at most 4
// requests in flight per host.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gofutures/gofutures/executor"
)

var variants = []struct {
	name    string
	retries bool
	run     func(context.Context, []string) error
}{
	{"gofutures A", false, gofuturesA},
	{"errgroup A", false, errgroupA},
	{"conc A", false, concA},
	{"gofutures B", true, gofuturesB},
	{"errgroup B", true, errgroupB},
	{"conc B", true, concB},
}

func main() {
	py := flag.String("python", "python3", `Python interpreter ("" to skip the Python versions)`)
	flag.Parse()
	log.SetFlags(0)
	srv := newServer()
	defer srv.Close()
	ok := true
	for _, v := range variants {
		srv.reset()
		results = map[string]result{}
		urls := srv.urls()
		start := time.Now()
		if err := v.run(context.Background(), urls); err != nil {
			log.Fatalf("%s: %v", v.name, err)
		}
		err := srv.check(urls, results, v.retries)
		fmt.Printf("%-12s %v %s\n", v.name, time.Since(start).Round(time.Millisecond), status(err))
		ok = ok && err == nil
	}
	if *py != "" {
		_, self, _, _ := runtime.Caller(0)
		for _, task := range []string{"a", "b"} {
			srv.reset()
			urls := srv.urls()
			start := time.Now()
			cmd := exec.Command(*py, filepath.Join(filepath.Dir(self), "task_python_"+task+".py"))
			cmd.Stdin = strings.NewReader(strings.Join(urls, "\n"))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				log.Fatalf("python %s: %v", task, err)
			}
			res := map[string]result{}
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				u, rest, _ := strings.Cut(l, " ")
				res[u] = result{ok: rest == "ok"}
			}
			err = srv.check(urls, res, task == "b")
			fmt.Printf("%-12s %v %s\n", "python "+strings.ToUpper(task), time.Since(start).Round(time.Millisecond), status(err))
			ok = ok && err == nil
		}
	}
	if !ok {
		os.Exit(1)
	}
}

func status(err error) string {
	if err != nil {
		return "FAILED: " + err.Error()
	}
	return "ok"
}

// result is what report recorded for one URL.
type result struct{ ok bool }

// results is written by report; the versions call report one at a time.
var results map[string]result

// report records the outcome of one URL. It is not safe for concurrent
// use, as code that adds results up usually is not.
func report(u string, status int, err error) {
	results[u] = result{ok: err == nil && status == http.StatusOK}
}

// statusError is an HTTP answer that is not a success; 5xx are temporary.
type statusError struct{ code int }

func (e *statusError) Error() string   { return fmt.Sprintf("HTTP %d", e.code) }
func (e *statusError) Temporary() bool { return e.code >= 500 }

// get fetches u with its own deadline and returns its status.
func get(ctx context.Context, u string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return resp.StatusCode, &statusError{resp.StatusCode}
	}
	return resp.StatusCode, nil
}

// transient reports whether err is worth another attempt.
func transient(err error) bool { return executor.Retryable(err) }

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Host
}

// server answers /ok/N with 200, /flaky/N with 503 twice then 200, and
// /missing/N with 404.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newServer() *server {
	s := &server{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		n := s.hits[r.URL.Path]
		s.mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/missing/"):
			http.NotFound(w, r)
		case strings.HasPrefix(r.URL.Path, "/flaky/") && n <= 2:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ok")
		}
	}))
	return s
}

func (s *server) reset() {
	s.mu.Lock()
	s.hits = map[string]int{}
	s.mu.Unlock()
}

func (s *server) urls() []string {
	var u []string
	for i := range 200 {
		kind := "ok"
		switch i % 20 {
		case 7:
			kind = "flaky"
		case 13:
			kind = "missing"
		}
		u = append(u, fmt.Sprintf("%s/%s/%d", s.URL, kind, i))
	}
	return u
}

// check verifies every URL's outcome: flaky ones succeed only with retries.
func (s *server) check(urls []string, res map[string]result, retries bool) error {
	var errs []error
	for _, u := range urls {
		r, ok := res[u]
		want := !strings.Contains(u, "/missing/") && (retries || !strings.Contains(u, "/flaky/"))
		if !ok || r.ok != want {
			errs = append(errs, fmt.Errorf("%s: reported %v (ok=%v), want ok=%v", u, ok, r.ok, want))
		}
	}
	return errors.Join(errs...)
}
