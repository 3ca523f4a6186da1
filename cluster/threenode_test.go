package cluster

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
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

// TestThreeNodeCluster: the README's setup, in one process: three NATS
// servers with routes and JetStream, users for the submitter and the worker,
// a stream with three replicas. One server stops; tasks go on.
func TestThreeNodeCluster(t *testing.T) {
	ports := freePorts(t, 6)
	var routes []*url.URL
	for _, p := range ports[3:] {
		u, _ := url.Parse(fmt.Sprintf("nats-route://127.0.0.1:%d", p))
		routes = append(routes, u)
	}
	var srvs []*server.Server
	var urls []string
	for i := range 3 {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: ports[i], NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: t.TempDir(),
			Users:   []*server.User{{Username: "submitter", Password: "s-pw"}, {Username: "worker", Password: "w-pw"}},
			Cluster: server.ClusterOpts{Name: "gofutures", Host: "127.0.0.1", Port: ports[3+i]},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		srvs = append(srvs, s)
		urls = append(urls, s.ClientURL())
	}
	for _, s := range srvs {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("server not ready")
		}
	}
	ctx := waitCtx(t)
	var ex *Executor
	for ex == nil { // until the servers elected a JetStream leader
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var err error
		ex, err = New(actx, testReg, WithURL(strings.Join(urls, ",")), WithUserPassword("submitter", "s-pw"),
			WithReplicas(3), WithAckWait(time.Second))
		cancel()
		if err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = ex.Stop(context.Background()) })
	startWorker(t, strings.Join(urls[1:], ","), WithToken(""), WithUserPassword("worker", "w-pw"))
	run := func(n int) {
		t.Helper()
		f, _ := executor.Call(ctx, ex, square, n)
		if v, err := f.Result(ctx); err != nil || v != n*n {
			t.Fatalf("square(%d) = %d, %v", n, v, err)
		}
	}
	for i := range 20 {
		run(i)
	}
	srvs[0].Shutdown() // one of three: the stream keeps its quorum
	for i := range 20 {
		run(i)
	}
}
