package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
)

// The dashboard variants: oursName on a pool that feeds a dashboard, with
// no page open, and with a page asking for the numbers every dashPollEvery
// (a browser asks once a second; this is 100 times as often, so that the
// short runs see it).
const (
	oursDashName       = "ours executor.Submit + Result, dashboard hooks, no page open"
	oursDashPolledName = "ours executor.Submit + Result, dashboard hooks, page polling every 10ms"
	dashPollEvery      = 10 * time.Millisecond
)

func oursDashboard(every time.Duration) func(size, n int, out []int) (func(lo, hi int, mark func()), func() error) {
	return func(size, n int, _ []int) (func(lo, hi int, mark func()), func() error) {
		d, err := dashboard.New(dashboard.WithRefresh(max(every, time.Second)))
		if err != nil {
			panic(err)
		}
		p, err := executor.NewGoPool(executor.WithWorkers(size), executor.WithHooks(d.Hooks("bench")))
		if err != nil {
			panic(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if every > 0 {
			wg.Go(func() { poll(d, every, stop) })
		}
		run, check := oursOn("ours dashboard", p, n, submitClosure, nil)
		return run, func() error {
			close(stop)
			wg.Wait()
			return check()
		}
	}
}

// poll asks d for its numbers, as an open page does, every interval.
func poll(d http.Handler, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/debug/gofutures/api/state", nil))
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}
