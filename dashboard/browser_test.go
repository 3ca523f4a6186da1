package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gofutures/gofutures/dashboard"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/pool"
	"github.com/gofutures/gofutures/process"
)

// findChromium returns the path of a Chromium or Chrome binary, or "".
// CHROMIUM overrides the search.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// page drives one headless browser tab.
type page struct {
	t   *testing.T
	ctx context.Context
}

// eval evaluates js in the page and returns its string result.
func (p *page) eval(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// field returns the text of the field of the executor card called exec.
func (p *page) field(exec, field string) string {
	return p.eval(fmt.Sprintf(`document.querySelector('[data-executor=%q] [data-field=%q]')?.textContent ?? ""`, exec, field))
}

func (p *page) number(exec, field string) uint64 {
	p.t.Helper()
	s := p.field(exec, field)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.t.Fatalf("%s %s: %q is not a number", exec, field, s)
	}
	return n
}

// until polls cond, which reads the page, with a give-up budget.
func (p *page) until(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("gave up waiting for the page to show %s; page text:\n%s", what, p.eval(`document.body.innerText`))
		}
		time.Sleep(20 * time.Millisecond) // polling the page, not synchronisation: cond decides
	}
}

// TestBrowser loads the page in headless Chromium while jobs run, checks
// that its numbers change and match the executors' own, that failures show
// with their text and pid, and saves a screenshot: to the path in
// GOFUTURES_SCREENSHOT if set (the README's docs/dashboard.png is made so),
// else into the test's temporary directory.
func TestBrowser(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell in PATH, and $CHROMIUM): " +
			"install it with `apt-get install -y chromium`; .ci/run does")
	}
	d := newDashboard(t, dashboard.WithTitle("gofutures · batch job"), dashboard.WithRefresh(200*time.Millisecond))
	mux := http.NewServeMux()
	mux.Handle("/debug/gofutures/", d)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	jobs, err := executor.NewGoPool(executor.WithName("jobs"), executor.WithWorkers(2), executor.WithHooks(d.Hooks("jobs")))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, jobs)
	helpers, err := process.New(reg, process.WithWorkers(2), process.WithHooks(d.Hooks("helpers")))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, helpers)
	d.Helpers("helpers", helpers.Pids)

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1000))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()
	p := &page{t: t, ctx: ctx}

	// Phase 1: two tasks hold both workers, four wait in the queue.
	gate := make(chan struct{})
	fs := gated(t, jobs, 2, gate)
	for i := range 4 {
		f, err := executor.Submit(context.Background(), jobs, func(context.Context) (int, error) {
			if i == 2 {
				return 0, fmt.Errorf("item %d: upstream said no", i)
			}
			return i, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000), chromedp.Navigate(srv.URL+"/debug/gofutures/")); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	p.until("the queued tasks", func() bool { return p.field("jobs", "queued") == "4" })
	if q := jobs.Stats().Queued; p.number("jobs", "queued") != uint64(q) || p.number("jobs", "running") != 2 ||
		p.number("jobs", "submitted") != 6 || p.number("jobs", "done") != 0 {
		t.Errorf("first read: queued %s (pool: %d), running %s, submitted %s, done %s",
			p.field("jobs", "queued"), q, p.field("jobs", "running"), p.field("jobs", "submitted"), p.field("jobs", "done"))
	}

	// Phase 2: release them; the failure is recorded with its text.
	close(gate)
	var failures int
	for _, f := range fs {
		if _, err := f.Result(context.Background()); err != nil {
			failures++ // the hooks record it, with its text
		}
	}
	p.until("every task done", func() bool { return p.field("jobs", "done") == "6" })
	if p.number("jobs", "queued") != 0 || p.number("jobs", "running") != 0 || p.number("jobs", "failed") != uint64(failures) ||
		p.number("jobs", "ok") != uint64(6-failures) || failures != 1 {
		t.Errorf("second read: %s", p.eval(`document.querySelector('[data-executor="jobs"] .tiles').innerText`))
	}
	p.until("the failure's text", func() bool {
		return strings.Contains(p.field("jobs", "failures"), "item 2: upstream said no")
	})

	// Phase 3: a helper dies; its failure shows with its pid, and the
	// helpers listed are the pool's.
	f, err := executor.Call(context.Background(), helpers, crash, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(context.Background())
	var we *process.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("crash: %v, want a *process.WorkerError", err)
	}
	p.until("the dead helper's pid", func() bool {
		return p.eval(`[...document.querySelectorAll('[data-executor="helpers"] tr.failure td')].map(td => td.textContent).join("|")`) != "" &&
			strings.Contains(p.field("helpers", "failures"), strconv.Itoa(we.Pid))
	})
	p.until("the replacement helper", func() bool {
		want := helpers.Pids()
		shown := p.eval(`[...document.querySelectorAll('[data-executor="helpers"] [data-pid]')].map(e => e.dataset.pid).sort().join(",")`)
		return len(want) == 2 && shown == joinSorted(want) && p.field("helpers", "restarts") == "1"
	})

	// Phase 4: a pool call with progress, stopped at 60% by a gate, for the
	// rate, the ETA and the throughput chart in the screenshot.
	pl, err := pool.New(jobs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		pl.Close()
		_ = pl.Join(context.Background())
	}()
	const n, stopAt = 3000, 1800
	gate2 := make(chan struct{})
	work := executor.Fn(func(ctx context.Context, i int) (int, error) {
		if i >= stopAt {
			<-gate2
		}
		time.Sleep(time.Millisecond) // the work: a millisecond per item
		if i%250 == 7 {
			return 0, fmt.Errorf("item %d: checksum mismatch", i)
		}
		return i, nil
	})
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	res, err := pool.MapAsync(context.Background(), pl, work, items, pool.WithChunkSize(10), pool.WithProgress(d.Progress("checksums")))
	if err != nil {
		t.Fatal(err)
	}
	p.until("the call's progress at the gate and a throughput chart", func() bool {
		points := p.eval(`String(document.querySelector('[data-executor="jobs"] .chart canvas') ? 1 : 0)`)
		return strings.HasPrefix(p.eval(`document.querySelector('tr.call [data-field="progress"]')?.textContent ?? ""`),
			fmt.Sprintf("%d / %d", stopAt, n)) && points == "1" && p.number("jobs", "running") == 2
	})
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if env := os.Getenv("GOFUTURES_SCREENSHOT"); env != "" {
		shot = env
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%d bytes): %s", len(png), shot)
	close(gate2)
	if _, err := res.Result(context.Background()); err == nil {
		t.Error("the call succeeded; want the first checksum mismatch")
	}
	p.until("the finished call", func() bool {
		return strings.HasPrefix(p.eval(`document.querySelector('tr.call')?.innerText ?? ""`), "checksums") &&
			strings.Contains(p.eval(`document.querySelector('tr.call')?.innerText ?? ""`), fmt.Sprintf("%d / %d (100%%)", n, n))
	})
}

func joinSorted(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	// The page sorts as strings, as JavaScript's sort does.
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return strings.Join(s, ",")
}
