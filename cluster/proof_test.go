package cluster

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/cluster/internal/wire"
	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// TestWorkerKilled: a worker process killed with SIGKILL while it runs a
// task; the server redelivers the task after the ack wait and another worker
// completes it, once.
func TestWorkerKilled(t *testing.T) {
	var started, finished atomic.Int32
	hooks := &executor.Hooks{
		Started:  func(time.Duration) { started.Add(1) },
		Finished: func(executor.Finish) { finished.Add(1) },
	}
	ex := newTestExecutor(t, WithHooks(hooks), WithAckWait(500*time.Millisecond))
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, hangOnce, filepath.Join(t.TempDir(), "ran"))
	if err != nil {
		t.Fatal(err)
	}
	a := startProc(t, ex.URL(), testToken)
	if err := a.stderr.waitFor(ctx, "hanging pid"); err != nil {
		t.Fatal(err)
	}
	if !f.Running() {
		t.Fatalf("future state %v while a worker runs it, want running", f.State())
	}
	startProc(t, ex.URL(), testToken) // b: takes the task after a dies
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	var ee *exec.ExitError
	if !errors.As(a.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("worker a: %v, want killed by SIGKILL", a.err)
	}
	v, err := f.Result(ctx)
	if err != nil || v != "again" {
		t.Fatalf("after the kill: %q, %v; want \"again\"", v, err)
	}
	waitStreamEmpty(t, ex)
	if started.Load() != 1 || finished.Load() != 1 {
		t.Fatalf("hooks: started %d, finished %d; want 1 and 1", started.Load(), finished.Load())
	}
}

// crashWorkersUntil starts worker processes one after another until f is
// done, each of which must die with the crash task's status 3, and returns
// how many died.
func crashWorkersUntil(ctx context.Context, t *testing.T, ex *Executor, f future.Awaitable) int {
	t.Helper()
	crashed := 0
	for {
		p := startProc(t, ex.URL(), testToken)
		select {
		case <-p.done:
			var ee *exec.ExitError
			if !errors.As(p.err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("worker exit: %v, want status 3 (the crash task); stderr:\n%s", p.err, p.stderr)
			}
			crashed++
		case <-f.Done():
			return crashed
		case <-ctx.Done():
			t.Fatal("future never done")
		}
	}
}

// TestDeliveryLimit: a task that kills every worker that runs it. After
// WithMaxAttempts deliveries its future fails with a *DeliveryError and the
// message is removed from the stream.
func TestDeliveryLimit(t *testing.T) {
	ex := newTestExecutor(t, WithAckWait(300*time.Millisecond), WithMaxAttempts(2))
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, crash, 1)
	if err != nil {
		t.Fatal(err)
	}
	crashed := crashWorkersUntil(ctx, t, ex, f)
	_, err = f.Result(ctx)
	var de *DeliveryError
	if !errors.Is(err, ErrDeliveryLimit) || !errors.Is(err, executor.ErrWorkerDied) || !errors.As(err, &de) || de.Attempts != 2 {
		t.Fatalf("err %v, want a DeliveryError after 2 attempts matching ErrWorkerDied", err)
	}
	if crashed != 2 {
		t.Fatalf("%d workers crashed, want 2", crashed)
	}
	if executor.OutcomeOf(err) != executor.OutcomeWorkerDied {
		t.Fatalf("outcome %v", executor.OutcomeOf(err))
	}
	waitStreamEmpty(t, ex)
}

// fakeRemote is a call of square on one argument, to encode results by hand.
type fakeRemote struct {
	arg int
	res int
}

func (r *fakeRemote) FuncName() string      { return "square" }
func (r *fakeRemote) Chunk() bool           { return false }
func (r *fakeRemote) Args() any             { return r.arg }
func (r *fakeRemote) Result() any           { return &r.res }
func (r *fakeRemote) Finish(error, []error) {}

// TestDuplicateResult: results for one task that arrive twice (in one batch
// and later) complete its future once, with the first; a worker that then
// gets the task skips it.
func TestDuplicateResult(t *testing.T) {
	var finished atomic.Int32
	ex := newTestExecutor(t, WithHooks(&executor.Hooks{Finished: func(executor.Finish) { finished.Add(1) }}))
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, square, 5)
	if err != nil {
		t.Fatal(err)
	}
	reply := func(arg int) []byte {
		call, err := testReg.EncodeCall(&fakeRemote{arg: arg})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := testReg.ServeCall(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	send := func(rs ...wire.Result) {
		var b []byte
		for i := range rs {
			b = wire.AppendResult(b, &rs[i])
		}
		if _, err := ex.nc.Request(resultSubject(ex.cfg.stream, ex.sid), b, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	send(wire.Result{Seq: 1, Attempts: 1, Data: reply(5)}, wire.Result{Seq: 1, Attempts: 2, Data: reply(9)})
	if v, err := f.Result(ctx); err != nil || v != 25 {
		t.Fatalf("future: %d, %v; want 25 (the first result)", v, err)
	}
	send(wire.Result{Seq: 1, Attempts: 3, Data: reply(11)})
	startWorker(t, ex.URL()) // gets the task message, is told to skip it
	waitStreamEmpty(t, ex)
	if v, _ := f.Result(ctx); v != 25 || finished.Load() != 1 {
		t.Fatalf("future %d, finished %d times; want 25, once", v, finished.Load())
	}
}

// TestWrongCredentials: a worker with a wrong token (or none) is refused
// and says so.
func TestWrongCredentials(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	p := startProc(t, ex.URL(), "wrong-token")
	select {
	case <-p.done:
	case <-ctx.Done():
		t.Fatal("worker with a wrong token still running")
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", p.err)
	}
	if s := p.stderr.String(); !strings.Contains(s, "refused by the server") || !strings.Contains(strings.ToLower(s), "authorization violation") {
		t.Fatalf("stderr does not say why:\n%s", s)
	}
	for _, opt := range []Option{WithToken("wrong"), WithUserPassword("u", "p")} {
		w, err := NewWorker(testReg, WithURL(ex.URL()), opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Run(ctx); !errors.Is(err, ErrAuth) {
			t.Fatalf("Run: %v, want ErrAuth", err)
		}
	}
}

// fileServer is an embedded server with file storage that a test stops and
// starts again on the same address, as an external server restarts.
type fileServer struct {
	t   *testing.T
	cfg config
	srv *embedded // nil while stopped
	url string
}

// startFileServer starts a fileServer, stopped at the end of the test.
func startFileServer(t *testing.T) *fileServer {
	s := &fileServer{t: t, cfg: defaultConfig()}
	s.cfg.token, s.cfg.storeDir = testToken, t.TempDir()
	s.start()
	s.url = s.srv.url()
	t.Cleanup(s.stop)
	return s
}

// start starts the server, on its first address once it has one.
func (s *fileServer) start() {
	if s.url != "" {
		s.cfg.listen = strings.TrimPrefix(s.url, "nats://")
	}
	srv, err := startEmbedded(&s.cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv = srv
}

func (s *fileServer) stop() {
	if s.srv != nil {
		s.srv.shutdown()
		s.srv = nil
	}
}

// newRestartExecutor returns an executor on url with the short timeouts
// that the restart tests need, stopped at the end of the test.
func newRestartExecutor(ctx context.Context, t *testing.T, url string) *Executor {
	t.Helper()
	ex, err := New(ctx, testReg, WithURL(url), WithToken(testToken), WithAckWait(400*time.Millisecond),
		WithPublishTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ex.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return ex
}

// TestServerRestart: an external server with file storage restarts; tasks
// accepted before it stops (stored, or in flight), and while it is down,
// all complete.
func TestServerRestart(t *testing.T) {
	ctx := waitCtx(t)
	srv := startFileServer(t)
	ex := newRestartExecutor(ctx, t, srv.url)
	type fut interface {
		Result(context.Context) (int, error)
	}
	var fs []fut
	call := func(i int) {
		f, err := executor.Call(ctx, ex, square, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for i := range 20 {
		call(i)
	}
	waitStoredN(t, ex, 20)
	for i := 20; i < 1000; i++ { // some in flight when the server stops
		call(i)
	}
	srv.stop()
	for i := 1000; i < 1020; i++ { // accepted while the server is down
		call(i)
	}
	srv.start()
	wp := startProc(t, srv.url, testToken)
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != i*i {
			ex.mu.Lock()
			t.Logf("executor: %d tasks, %d unstored", len(ex.tasks), len(ex.unstored))
			ex.mu.Unlock()
			ictx, c := context.WithTimeout(context.Background(), 2*time.Second)
			if st, err := ex.js.Stream(ictx, ex.cfg.stream); err == nil {
				info, _ := st.Info(ictx)
				t.Logf("stream: %+v", info.State)
				if ci, err := st.Consumer(ictx, consumerName); err == nil {
					inf, _ := ci.Info(ictx)
					t.Logf("consumer: pending %d ackpending %d redelivered %d waiting %d", inf.NumPending, inf.NumAckPending, inf.NumRedelivered, inf.NumWaiting)
				}
			} else {
				t.Logf("stream: %v", err)
			}
			c()
			t.Logf("worker stderr:\n%s", wp.stderr.String())
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	waitStreamEmpty(t, ex)
}

// waitStoredN waits until the server confirmed the first n tasks.
func waitStoredN(t *testing.T, ex *Executor, n int) {
	t.Helper()
	waitTasks(t, ex, n, "stored", func(en *entry) bool { return en.data == nil })
}

// waitTasks waits until n of the executor's tasks are in the state that is
// reports, called what in the failure message.
func waitTasks(t *testing.T, ex *Executor, n int, what string, is func(*entry) bool) {
	t.Helper()
	ctx := waitCtx(t)
	for {
		ex.mu.Lock()
		k := 0
		for _, en := range ex.tasks {
			if is(en) {
				k++
			}
		}
		ex.mu.Unlock()
		if k >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d tasks %s", k, n, what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestWorkerProcessRespawn: a worker process the executor started dies (the
// task kills it); the executor starts another, the task fails at the
// delivery limit, and later tasks still run.
func TestWorkerProcessRespawn(t *testing.T) {
	var crashed atomic.Int32
	hooks := &executor.Hooks{WorkerStopped: func(r executor.WorkerExit) {
		if r == executor.ExitCrashed {
			crashed.Add(1)
		}
	}}
	ctx := waitCtx(t)
	ex := newTestExecutor(t, WithWorkerProcesses(1), WithConcurrency(1), WithAckWait(300*time.Millisecond),
		WithMaxAttempts(2), WithHooks(hooks))
	f, err := executor.Call(ctx, ex, crash, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(ctx); !errors.Is(err, ErrDeliveryLimit) {
		t.Fatalf("crash: %v, want ErrDeliveryLimit", err)
	}
	g, err := executor.Call(ctx, ex, square, 4)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := g.Result(ctx); err != nil || v != 16 {
		t.Fatalf("after the crashes: %d, %v", v, err)
	}
	if n := crashed.Load(); n != 2 {
		t.Fatalf("%d crashes, want 2", n)
	}
	for _, c := range ex.procs.started() {
		trackProc(c.Process)
	}
	if err := ex.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWorkerSupervisor: a worker started with GOFUTURES_CLUSTER_PROCESSES=2
// runs tasks in two child processes and stops them when it stops.
func TestWorkerSupervisor(t *testing.T) {
	ex := newTestExecutor(t)
	ctx := waitCtx(t)
	sup := startProc(t, ex.URL(), testToken, EnvProcesses+"=2")
	pids := map[int]bool{}
	for i := 0; len(pids) < 2; i++ {
		f, err := executor.Call(ctx, ex, pid, i)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p == sup.cmd.Process.Pid {
			t.Fatal("the supervisor ran a task itself")
		}
		if !pids[p] {
			pids[p] = true
			if proc, err := os.FindProcess(p); err == nil {
				trackProc(proc)
			}
		}
		if i > 10000 {
			t.Fatalf("tasks ran in %d processes only", len(pids))
		}
	}
}

// TestWorkerSurvivesRestart: a worker process that runs while the server
// restarts reconnects and keeps taking tasks; one started before the stream
// exists waits for it.
func TestWorkerSurvivesRestart(t *testing.T) {
	ctx := waitCtx(t)
	srv := startFileServer(t)
	startProc(t, srv.url, testToken) // before the executor creates the stream
	ex := newRestartExecutor(ctx, t, srv.url)
	check := func(n int) {
		t.Helper()
		f, err := executor.Call(ctx, ex, square, n)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != n*n {
			t.Fatalf("square(%d) = %d, %v", n, v, err)
		}
	}
	check(3)
	srv.stop()
	srv.start()
	check(4)
	check(5)
}

// TestLostWhileUnreachable: workers cannot reach the executor (its
// subscriptions are gone), so its tasks reach the delivery limit and are
// removed without their reports reaching it; its audit publishes them again,
// over and over while it stays unreachable. Once it is reachable again,
// every task resolves: with its result, or with ErrDeliveryLimit when the
// report of a delivery that reached the limit gets through (which depends on
// timing); none is lost and none hangs.
func TestLostWhileUnreachable(t *testing.T) {
	ex := newTestExecutor(t, WithAckWait(100*time.Millisecond), WithMaxAttempts(1), WithMaxBackOff(200*time.Millisecond),
		optionFunc(func(c *config) { c.audit = 500 * time.Millisecond }))
	ctx := waitCtx(t)
	for _, s := range ex.subs {
		if s.Subject == startSubject(ex.cfg.stream, ex.sid) || s.Subject == resultSubject(ex.cfg.stream, ex.sid) {
			_ = s.Unsubscribe()
		}
	}
	var fs []*future.Future[int]
	for i := range 3 {
		f, err := executor.Call(ctx, ex, square, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	waitStoredN(t, ex, 3)
	startWorker(t, ex.URL())
	waitTasks(t, ex, 3, "published again", func(en *entry) bool { return en.gen > 0 })
	// Reconnect, preferably while no delivery is about to report the limit:
	// a moment when the stream is empty, if one comes soon.
	quiet, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for streamMsgs(t, ex) != 0 && quiet.Err() == nil {
		select {
		case <-quiet.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	if _, err := ex.nc.Subscribe(startSubject(ex.cfg.stream, ex.sid), ex.onStart); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.nc.Subscribe(resultSubject(ex.cfg.stream, ex.sid), ex.onResult); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i, f := range fs {
		v, err := f.Result(ctx)
		switch {
		case err == nil && v == i*i:
			ok++
		case errors.Is(err, ErrDeliveryLimit):
		default:
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	t.Logf("%d of %d completed after the executor was reachable again; the rest reached the delivery limit", ok, len(fs))
}
