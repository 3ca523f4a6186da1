package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gofutures/gofutures/process"
	"go.uber.org/goleak"
)

// reg holds the functions that the tests run in helper processes: the test
// binary is its own helper.
var reg = process.NewRegistry()

var (
	// crash makes its helper exit with status 3, for a *process.WorkerError.
	crash = process.MustRegister(reg, "dashboard_test.crash", func(context.Context, int) (int, error) {
		os.Exit(3)
		return 0, nil
	})
	double = process.MustRegister(reg, "dashboard_test.double", func(_ context.Context, x int) (int, error) {
		return 2 * x, nil
	})
)

// TestMain serves reg when the binary was started as a helper, and checks
// for leaked goroutines beyond those that imported packages start at init.
func TestMain(m *testing.M) {
	process.ServeIfHelper(reg)
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// The page's JSON, as far as the tests read it.
type state struct {
	Executors []struct {
		Name                       string
		Submitted, Queued, Running uint64
		Done, OK, Failed           uint64
		Outcomes                   map[string]uint64
		Workers                    int64
		WorkerStarts, Restarts     uint64
		Helpers                    []struct{ Pid int }
		Run                        struct {
			Count  uint64
			Counts []uint64
		}
		Failures []struct {
			Outcome, Error string
			Pid            int
		}
		History struct {
			T    []float64
			Rate []*float64
		}
	}
	Calls []struct {
		Name        string
		Done, Total int64
		Finished    bool
		Rate, ETA   float64
	}
	Clusters []struct {
		Name                      string
		Workers                   []struct{ Name string }
		StreamDepth, Redeliveries uint64
		Error                     string
	}
}

// get fetches and decodes the state from the handler h mounted at /d/.
func get(t *testing.T, h http.Handler) state {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/d/api/state", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET api/state: %d %s", rec.Code, rec.Body)
	}
	var st state
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}
