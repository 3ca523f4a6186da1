package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
)

// A program mounts the dashboard on its mux, gives its executors the
// dashboard's hooks and its pool calls a progress function, and records
// the errors it wants shown. Here the page's JSON is read once, as the
// page does every second.
func Example() {
	d, err := dashboard.New(dashboard.WithTitle("my batch"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/gofutures/", d)
	srv := httptest.NewServer(mux) // in a program: http.ListenAndServe(addr, mux)
	defer srv.Close()

	ex, err := executor.NewGoPool(executor.WithWorkers(2), executor.WithHooks(d.Hooks("batch")))
	if err != nil {
		panic(err)
	}
	p, err := pool.New(ex, pool.OwnExecutor())
	if err != nil {
		panic(err)
	}
	half := executor.Fn(func(_ context.Context, n int) (int, error) {
		if n%2 == 1 {
			return 0, fmt.Errorf("%d is odd", n)
		}
		return n / 2, nil
	})
	_, err = pool.Map(context.Background(), p, half, []int{2, 4, 6, 7, 8}, pool.WithChunkSize(1),
		pool.WithProgress(d.Progress("halves")))
	d.Failed("batch", err)
	// The hooks count a task as it ends, just after its result is ready:
	// once the pool has shut down, every one has been counted.
	p.Close()
	if err := p.Join(context.Background()); err != nil {
		panic(err)
	}

	resp, err := http.Get(srv.URL + "/debug/gofutures/api/state")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var st struct {
		Executors []struct {
			Name             string
			Done, OK, Failed int
			Failures         []struct{ Error string }
		}
		Calls []struct {
			Name        string
			Done, Total int
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		panic(err)
	}
	x, c := st.Executors[0], st.Calls[0]
	fmt.Printf("%s: %d done, %d ok, %d failed; last failure: %s\n", x.Name, x.Done, x.OK, x.Failed, x.Failures[0].Error)
	fmt.Printf("call %s: %d / %d\n", c.Name, c.Done, c.Total)
	// Output:
	// batch: 5 done, 4 ok, 1 failed; last failure: pool: item 3: 7 is odd
	// call halves: 5 / 5
}
