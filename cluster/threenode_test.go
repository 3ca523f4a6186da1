package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
	"github.com/gofutures/gofutures/process"
	"github.com/nats-io/nats-server/v2/server"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// readmeConf returns the nats-server configuration of README.md's section
// "Three NATS servers", as written there.
func readmeConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Three NATS servers\n")
	if ok {
		_, sec, ok = strings.Cut(sec, "```conf\n")
	}
	if ok {
		sec, _, ok = strings.Cut(sec, "```")
	}
	if !ok {
		t.Fatal("README.md: no ```conf block in the section \"Three NATS servers\"")
	}
	return sec
}

// threeNodes is a NATS cluster of three servers in this process.
type threeNodes struct {
	srvs []*server.Server
	url  string // the three client URLs, comma-separated
	// Passwords of the README's users submitter and worker.
	submitterPW, workerPW string
}

// startThreeNodes starts three servers with README.md's configuration: the
// README's conf block, with only loopback addresses, free ports, a store
// directory of the test and its own server_name substituted, loaded with
// server.ProcessConfigFile as nats-server -c loads it. The passwords reach
// it as the README says, through $SUBMITTER_PASSWORD and $WORKER_PASSWORD
// in the environment.
func startThreeNodes(t *testing.T) *threeNodes {
	t.Helper()
	conf := readmeConf(t)
	c := &threeNodes{submitterPW: randomPW(t), workerPW: randomPW(t)}
	t.Setenv("SUBMITTER_PASSWORD", c.submitterPW)
	t.Setenv("WORKER_PASSWORD", c.workerPW)
	ports := freePorts(t, 6) // client 0..2, cluster 3..5
	var urls []string
	for i := range 3 {
		subst := [][2]string{
			{"server_name: n1", fmt.Sprintf("server_name: n%d", i+1)},
			{"listen: 0.0.0.0:4222", fmt.Sprintf("listen: 127.0.0.1:%d", ports[i])},
			{"store_dir: /var/lib/nats", fmt.Sprintf("store_dir: %q", t.TempDir())},
			{"listen: 0.0.0.0:6222", fmt.Sprintf("listen: 127.0.0.1:%d", ports[3+i])},
		}
		for k := range 3 {
			subst = append(subst, [2]string{fmt.Sprintf("nats-route://n%d:6222", k+1), fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+k])})
		}
		text := conf
		for _, s := range subst {
			if strings.Count(text, s[0]) != 1 {
				t.Fatalf("README.md's conf block has %d times %q, want once (README changed? update this test)", strings.Count(text, s[0]), s[0])
			}
			text = strings.Replace(text, s[0], s[1], 1)
		}
		path := filepath.Join(t.TempDir(), fmt.Sprintf("n%d.conf", i+1))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("README.md's configuration, as n%d: %v\n%s", i+1, err, text)
		}
		opts.NoSigs, opts.NoLog = true, true // in-process: not part of the configuration
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		c.srvs = append(c.srvs, s)
		urls = append(urls, s.ClientURL())
	}
	for _, s := range c.srvs {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("server not ready")
		}
	}
	c.url = strings.Join(urls, ",")
	return c
}

func randomPW(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newSubmitter is the README's submitter: all three URLs, user submitter,
// three replicas of the task stream. It retries New until the servers
// elected a JetStream leader.
func (c *threeNodes) newSubmitter(ctx context.Context, t *testing.T, more ...ExecutorOption) *Executor {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ex, err := New(actx, testReg, append([]ExecutorOption{WithURL(c.url), WithUserPassword("submitter", c.submitterPW),
			WithReplicas(3)}, more...)...)
		cancel()
		if err == nil {
			t.Cleanup(func() { _ = ex.Stop(context.Background()) })
			return ex
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
	}
}

// TestThreeNodeCluster: the README's setup, in one process: three NATS
// servers with routes and JetStream, users for the submitter and the worker,
// a stream with three replicas. One server stops; tasks go on.
func TestThreeNodeCluster(t *testing.T) {
	c := startThreeNodes(t)
	ctx := waitCtx(t)
	ex := c.newSubmitter(ctx, t, WithAckWait(time.Second))
	urls := strings.Split(c.url, ",")
	startWorker(t, strings.Join(urls[1:], ","), WithToken(""), WithUserPassword("worker", c.workerPW))
	run := func(n int) {
		t.Helper()
		f, err := executor.Call(ctx, ex, square, n)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != n*n {
			t.Fatalf("square(%d) = %d, %v", n, v, err)
		}
	}
	for i := range 20 {
		run(i)
	}
	c.srvs[0].Shutdown() // one of three: the stream keeps its quorum
	for i := range 20 {
		run(i)
	}
}

// envVictim marks the worker process that TestThreeNodeKillServerAndWorker
// kills (ServeIfWorker leaves it in the environment).
const envVictim = "CLUSTER_TEST_VICTIM"

// recArg is the argument of recordRun.
type recArg struct {
	N      int
	Log    string // one line per execution: "N pid"
	FIFO   string // events for the test
	Marker string // once it exists, recordRun hangs in the victim
}

// recordRun appends "N pid" to Log (the side effect by which executions are
// counted), says "ran N pid" on FIFO and returns N*N. In the victim worker
// process, once Marker exists, it says "hang N pid" instead and waits for
// its ctx: the process is killed while it runs.
var recordRun = process.MustRegister(testReg, "threenode.recordRun", func(ctx context.Context, a recArg) (int, error) {
	f, err := os.OpenFile(a.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = fmt.Fprintf(f, "%d %d\n", a.N, os.Getpid()) // one write: atomic with O_APPEND
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	e := ev{FIFO: a.FIFO, Tag: "rec"}
	if os.Getenv(envVictim) == "1" {
		if _, err := os.Stat(a.Marker); err == nil {
			_ = e.say("hang %d %d", a.N, os.Getpid())
			<-ctx.Done()
			return 0, ctx.Err()
		}
	}
	return a.N * a.N, e.say("ran %d %d", a.N, os.Getpid())
})

// TestThreeNodeKillServerAndWorker runs README.md's three-node procedure
// and kills a server and a worker mid-run: three servers with the README's
// configuration; the README's submitter (three URLs, user submitter, three
// replicas); two worker processes started as the README starts them (the
// program with GOFUTURES_CLUSTER_WORKER=1, _URL with the three servers,
// _USER=worker, _PASSWORD, _CONCURRENCY=2). After a quarter of the tasks
// ran, the victim worker runs two tasks that never return; then the test
// SIGKILLs it and shuts down the server that leads the task stream, and
// submits the rest.
//
// Every future completes with its value; every task ran; a task ran more
// than once only if it ran on the victim, and there are at most 2 such
// extra runs: the victim's concurrency, since with _PREFETCH=0 it holds no
// task beyond those it runs, and a task it finished is released only after
// the submitter has its result.
func TestThreeNodeKillServerAndWorker(t *testing.T) {
	const (
		n           = 300
		before      = 240 // submitted before the kill; the rest after
		concurrency = 2   // of each worker
	)
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // give-up budget
	defer cancel()
	c := startThreeNodes(t)
	ex := c.newSubmitter(ctx, t)
	tReady := time.Since(t0)
	env := []string{EnvUser + "=worker", EnvPassword + "=" + c.workerPW, EnvConcurrency + "=" + strconv.Itoa(concurrency)}
	survivor := startProc(t, c.url, "", env...)
	victim := startProc(t, c.url, "", append(env, EnvPrefetch+"=0", envVictim+"=1")...)
	vpid := strconv.Itoa(victim.cmd.Process.Pid)

	evs := newEvents(t)
	dir := t.TempDir()
	arg := func(i int) recArg {
		return recArg{N: i, Log: filepath.Join(dir, "runs"), FIFO: evs.path, Marker: filepath.Join(dir, "hang")}
	}
	fs := make([]*future.Future[int], 0, n)
	submit := func(from, to int) {
		for i := from; i < to; i++ {
			f, err := executor.Call(ctx, ex, recordRun, arg(i))
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
	}
	submit(0, before)

	// A quarter ran: from now on the victim hangs in every task it starts.
	for ran := 0; ran < n/4; {
		l := evs.next(ctx, "rec", nil)
		if l == "" {
			t.Fatalf("%d of %d tasks ran before the budget ran out", ran, n/4)
		}
		if strings.HasPrefix(l, "ran ") {
			ran++
		}
	}
	if err := os.WriteFile(arg(0).Marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var hung []int
	for len(hung) < concurrency {
		l := evs.next(ctx, "rec", nil)
		if l == "" {
			t.Fatalf("the victim (pid %s) started %d tasks after the marker, want %d; stderr:\n%s", vpid, len(hung), concurrency, victim.stderr)
		}
		var i int
		if _, err := fmt.Sscanf(l, "hang %d", &i); err == nil {
			hung = append(hung, i)
		}
	}
	stop := make(chan struct{}) // the rest of the events: drained, not needed
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for evs.next(ctx, "rec", stop) != "" {
		}
	}()
	defer func() { close(stop); <-drained }()

	// Kill the victim while it runs its two tasks, and the stream's leader.
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	var ee *exec.ExitError
	if !errors.As(victim.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("victim: %v, want killed by SIGKILL", victim.err)
	}
	leader := c.srvs[0]
	for _, s := range c.srvs {
		if s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, "GOFUTURES") {
			leader = s
		}
	}
	leader.Shutdown()
	doneAtKill := 0
	for _, f := range fs {
		select {
		case <-f.Done():
			doneAtKill++
		default:
		}
	}
	tKill := time.Since(t0)
	submit(before, n)

	for i, f := range fs {
		v, err := f.Result(ctx)
		if err != nil || v != i*i {
			t.Fatalf("task %d: %d, %v; want %d (%d of %d done)", i, v, err, i*i, i, n)
		}
	}
	tDone := time.Since(t0)
	// Every execution has written its line once the survivor has exited.
	_ = survivor.stdin.Close()
	select {
	case <-survivor.done:
	case <-ctx.Done():
		t.Fatalf("survivor did not exit after its stdin closed: %v", ctx.Err())
	}
	if survivor.err != nil {
		t.Fatalf("survivor: %v\n%s", survivor.err, survivor.stderr)
	}

	b, err := os.ReadFile(arg(0).Log)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[int][]string{} // task → pids of its executions
	byPid := map[string]int{}
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var i, p int
		if _, err := fmt.Sscanf(l, "%d %d", &i, &p); err != nil || i < 0 || i >= n {
			t.Fatalf("bad line %q in the execution log", l)
		}
		runs[i] = append(runs[i], strconv.Itoa(p))
		byPid[strconv.Itoa(p)]++
		total++
	}
	extra := 0
	for i := range n {
		rs := runs[i]
		switch {
		case len(rs) == 0:
			t.Errorf("task %d: never executed, yet its future has its value", i)
		case len(rs) > 1:
			extra += len(rs) - 1
			if !strings.Contains(" "+strings.Join(rs, " ")+" ", " "+vpid+" ") {
				t.Errorf("task %d executed %d times (pids %v), never on the killed worker %s", i, len(rs), rs, vpid)
			}
		}
	}
	for _, i := range hung {
		if len(runs[i]) < 2 {
			t.Errorf("task %d hung on the killed worker: executions %v, want a second one", i, runs[i])
		}
	}
	if extra > concurrency {
		t.Errorf("%d extra executions, want at most %d (the killed worker's concurrency)", extra, concurrency)
	}
	t.Logf("%d tasks, %d executions (%d extra: tasks %v hung on the killed worker); by pid %v (victim %s); "+
		"submitter ready at %v, kill at %v (%d of %d submitted futures done, server %s shut down), all done at %v",
		n, total, extra, hung, byPid, vpid, tReady.Round(time.Millisecond), tKill.Round(time.Millisecond), doneAtKill, before, leader.Name(), tDone.Round(time.Millisecond))
}
