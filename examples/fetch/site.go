package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// site is a local test server, a host of its own (127.0.0.1 and its port).
// It counts the requests of each path and keeps when each came, so that
// the summary can say what rate the host saw.
type site struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
	at   []time.Time
}

// startSite starts a server with these endpoints:
//
//	/fast/N       200 at once
//	/slow/N       200 after 150ms
//	/flaky/N      503 for the first two requests, then 200
//	/reset/N      the first request's connection is closed without an answer, then 200
//	/limited/N    429 with Retry-After: 1 for the first request, then 200
//	/fail         500, always
//	/hang         never answers (the client's deadline ends it)
//	/missing      404 (not retried)
func startSite() *site {
	s := &site{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	n := s.hits[r.URL.Path]
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	kind, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case kind == "fast":
	case kind == "slow":
		select {
		case <-time.After(150 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	case kind == "flaky" && n <= 2:
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	case kind == "reset" && n == 1:
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	case kind == "limited" && n == 1:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case kind == "fail":
		http.Error(w, "broken for good", http.StatusInternalServerError)
		return
	case kind == "hang":
		<-r.Context().Done()
		return
	case kind == "flaky", kind == "reset", kind == "limited":
	default:
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "page %s\n", r.URL.Path)
}

// urls returns n URLs of the site: mostly fast pages, with a few of each
// other kind; one /fail, one /hang and one /missing.
func (s *site) urls(n int) []string {
	u := make([]string, 0, n)
	for i := range n - 3 {
		kind := "fast"
		switch {
		case i%20 == 1:
			kind = "flaky"
		case i%20 == 2:
			kind = "reset"
		case i%40 == 3:
			kind = "limited"
		case i%25 == 4:
			kind = "slow"
		}
		u = append(u, fmt.Sprintf("%s/%s/%d", s.URL, kind, i))
	}
	return append(u, s.URL+"/fail", s.URL+"/hang", s.URL+"/missing")
}

func (s *site) host() string { return strings.TrimPrefix(s.URL, "http://") }

// rate returns the number of requests and the most that came within any
// one second.
func (s *site) rate() (int, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	most, j := 0, 0
	for i := range s.at {
		for s.at[i].Sub(s.at[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return len(s.at), float64(most)
}
