package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// lazyCluster is a NATS cluster of three servers in this process, with
// routes, JetStream and the test token, whose servers the test starts one
// by one: with one of three up there is no quorum, so no meta leader.
type lazyCluster struct {
	t    *testing.T
	opts []*server.Options
	url  string // the three client URLs, comma-separated
}

func newLazyCluster(t *testing.T) *lazyCluster {
	ports := freePorts(t, 6) // client 0..2, cluster 3..5
	var routes []*url.URL
	for _, p := range ports[3:] {
		u, _ := url.Parse(fmt.Sprintf("nats-route://127.0.0.1:%d", p))
		routes = append(routes, u)
	}
	c := &lazyCluster{t: t}
	var urls []string
	for i := range 3 {
		c.opts = append(c.opts, &server.Options{
			ServerName: fmt.Sprintf("r%d", i+1), Host: "127.0.0.1", Port: ports[i], NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: t.TempDir(), Authorization: testToken,
			Cluster: server.ClusterOpts{Name: "gofutures-ready", Host: "127.0.0.1", Port: ports[3+i]},
			Routes:  routes,
		})
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	c.url = strings.Join(urls, ",")
	return c
}

// start starts server i (0..2); it stops at the end of the test.
func (c *lazyCluster) start(i int) {
	c.t.Helper()
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	s.Start()
	c.t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		c.t.Fatalf("server r%d not ready", i+1)
	}
}

// eventLogger returns a logger whose entries are observed, and a channel
// closed at the first entry whose message contains sub.
func eventLogger(sub string) (*zap.Logger, *observer.ObservedLogs, <-chan struct{}) {
	core, logs := observer.New(zap.InfoLevel)
	seen := make(chan struct{})
	var once sync.Once
	l := zap.New(zapcore.RegisterHooks(core, func(e zapcore.Entry) error {
		if strings.Contains(e.Message, sub) {
			once.Do(func() { close(seen) })
		}
		return nil
	}))
	return l, logs, seen
}

// TestReadyWaitsForQuorum: New on a three-node cluster of which one server
// runs (no quorum, no meta leader) waits, saying so; once the other two
// start, the cluster elects its leader, New returns and a task runs.
func TestReadyWaitsForQuorum(t *testing.T) {
	c := newLazyCluster(t)
	c.start(0)
	ctx := waitCtx(t)
	log, logs, waiting := eventLogger("waiting for JetStream")
	type result struct {
		ex  *Executor
		err error
	}
	done := make(chan result, 1)
	go func() {
		ex, err := New(ctx, testReg, WithURL(c.url), WithToken(testToken), WithReplicas(3),
			WithAckWait(time.Second), WithLogger(log))
		done <- result{ex, err}
	}()
	select {
	case <-waiting:
	case r := <-done:
		if r.ex != nil {
			_ = r.ex.Stop(context.Background())
		}
		t.Fatalf("New returned without a quorum: %v", r.err)
	case <-ctx.Done():
		t.Fatal("New did not say it waits for JetStream")
	}
	c.start(1)
	c.start(2)
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("New still waiting after the three servers started")
	}
	if r.err != nil {
		t.Fatalf("New after the quorum came: %v", r.err)
	}
	t.Cleanup(func() { _ = r.ex.Stop(context.Background()) })
	for _, e := range logs.FilterMessageSnippet("JetStream").All() {
		t.Logf("%s: %s %v", e.Time.Format("15:04:05.000"), e.Message, e.ContextMap())
	}
	if logs.FilterMessage("JetStream ready").Len() != 1 {
		t.Errorf("no \"JetStream ready\" log after the wait; logs: %v", logs.All())
	}
	startWorker(t, c.url)
	f, err := executor.Call(ctx, r.ex, square, 9)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != 81 {
		t.Fatalf("square(9) = %d, %v", v, err)
	}
}

// TestReadyGivesUp: New whose ctx ends while JetStream cannot answer (one
// server of three) fails with the ctx's error and says what it waited for.
func TestReadyGivesUp(t *testing.T) {
	c := newLazyCluster(t)
	c.start(0)
	// The budget is what the test is about: a little more than one
	// attempt, so that New retries once before ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), readyAttempt+time.Second)
	defer cancel()
	ex, err := New(ctx, testReg, WithURL(c.url), WithToken(testToken), WithReplicas(3))
	if err == nil {
		_ = ex.Stop(context.Background())
		t.Fatal("New succeeded without a quorum")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New: %v; want context.DeadlineExceeded", err)
	}
	for _, s := range []string{"create stream GOFUTURES", "gave up after", "waiting for JetStream"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("New: %v; does not say %q", err, s)
		}
	}
}

// TestReadyPermanent: a stream that exists with a configuration New cannot
// update fails New at once, without waiting.
func TestReadyPermanent(t *testing.T) {
	srvURL := authServer(t, func(c *config) { c.token = testToken })
	nc, err := nats.Connect(srvURL, nats.Token(testToken))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GOFUTURES", Subjects: []string{"gofutures.tasks"},
		Retention: jetstream.LimitsPolicy}); err != nil {
		t.Fatal(err)
	}
	log, logs, _ := eventLogger("waiting for JetStream")
	ex, err := New(ctx, testReg, WithURL(srvURL), WithToken(testToken), WithLogger(log))
	if err == nil {
		_ = ex.Stop(context.Background())
		t.Fatal("New updated a limits stream to a work queue")
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &apiErr) || !strings.Contains(err.Error(), "create stream GOFUTURES") {
		t.Fatalf("New: %v; want the server's refusal, at once", err)
	}
	if n := logs.FilterMessageSnippet("waiting for JetStream").Len(); n != 0 {
		t.Fatalf("New waited on a permanent error: %v", logs.All())
	}
}

// fakeJS answers CreateOrUpdateStream with errs, one per call, then
// succeeds; CreateOrUpdateConsumer succeeds.
type fakeJS struct {
	errs    []error
	streams int
}

func (f *fakeJS) CreateOrUpdateStream(context.Context, jetstream.StreamConfig) (jetstream.Stream, error) {
	f.streams++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return nil, nil
}

func (f *fakeJS) CreateOrUpdateConsumer(context.Context, string, jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return nil, nil
}

// TestReadyClassification: which JetStream errors New waits out, and which
// fail it at once.
func TestReadyClassification(t *testing.T) {
	unavail := &jetstream.APIError{Code: 503, ErrorCode: jsErrClusterNotAvail, Description: "JetStream system temporarily unavailable"}
	noPeers := &jetstream.APIError{Code: 400, ErrorCode: jsErrNoPeers, Description: "no suitable peers for placement"}
	for name, tc := range map[string]struct {
		errs    []error
		connErr error
		ok      bool
		calls   int
	}{
		"unavailable then ready":  {errs: []error{unavail, unavail}, ok: true, calls: 3},
		"no responders":           {errs: []error{nats.ErrNoResponders}, ok: true, calls: 2},
		"attempt timed out":       {errs: []error{context.DeadlineExceeded}, ok: true, calls: 2},
		"not enabled":             {errs: []error{jetstream.ErrJetStreamNotEnabled}, ok: true, calls: 2},
		"peers not up yet":        {errs: []error{noPeers}, ok: true, calls: 2},
		"name in use":             {errs: []error{jetstream.ErrStreamNameAlreadyInUse}, calls: 1},
		"not enabled for account": {errs: []error{jetstream.ErrJetStreamNotEnabledForAccount}, calls: 1},
		"bad request":             {errs: []error{jetstream.ErrBadRequest}, calls: 1},
		"permission refused": {errs: []error{context.DeadlineExceeded},
			connErr: fmt.Errorf("%w: Permissions Violation for Publish to \"$JS.API.STREAM.UPDATE.GOFUTURES\"", nats.ErrPermissionViolation), calls: 1},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := defaultConfig()
			log, logs, _ := eventLogger("waiting for JetStream")
			js := &fakeJS{errs: tc.errs}
			err := ensureStream(waitCtx(t), js, func() error { return tc.connErr }, &cfg, log)
			if (err == nil) != tc.ok || js.streams != tc.calls {
				t.Fatalf("ensureStream: %v after %d calls; want ok=%v after %d", err, js.streams, tc.ok, tc.calls)
			}
			if tc.ok {
				if logs.FilterMessageSnippet("waiting for JetStream").Len() != 1 || logs.FilterMessage("JetStream ready").Len() != 1 {
					t.Fatalf("want one \"waiting\" and one \"ready\" log, got %v", logs.All())
				}
				return
			}
			if !errors.Is(err, tc.errs[0]) && !errors.Is(err, tc.connErr) {
				t.Fatalf("ensureStream: %v; does not wrap %v", err, tc.errs[0])
			}
		})
	}
}
