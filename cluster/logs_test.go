package cluster

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofutures/gofutures/executor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// waitLog waits until logs hold an entry at level whose message contains
// sub, and returns it.
func waitLog(t *testing.T, ctx context.Context, logs *observer.ObservedLogs, level zapcore.Level, sub string) observer.LoggedEntry {
	t.Helper()
	for {
		for _, e := range logs.FilterLevelExact(level).FilterMessageSnippet(sub).All() {
			return e
		}
		if !sleepCtx(ctx, 5*time.Millisecond) {
			t.Fatalf("no %v log containing %q; logs: %v", level, sub, logs.All())
		}
	}
}

// TestLogsDeadServer: the submitter warns when its server goes away (a
// clean shutdown, which nats.go reports without an error) and says when it
// is back.
func TestLogsDeadServer(t *testing.T) {
	srv := startFileServer(t)
	core, logs := observer.New(zap.InfoLevel)
	ctx := waitCtx(t)
	ex, err := New(ctx, testReg, WithURL(srv.url), WithToken(testToken), WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Stop(context.Background()) })
	srv.stop()
	waitLog(t, ctx, logs, zap.WarnLevel, "lost the connection to NATS")
	srv.start()
	waitLog(t, ctx, logs, zap.InfoLevel, "reconnected to NATS")
}

// TestLogsRedeliveryAndLimit: a task whose workers die is logged at info
// when it is redelivered (with its attempt) and at warn when it reaches the
// delivery limit.
func TestLogsRedeliveryAndLimit(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	ex := newTestExecutor(t, WithAckWait(200*time.Millisecond), WithMaxAttempts(2), WithLogger(zap.New(core)), WithWorkerProcesses(1))
	ctx := waitCtx(t)
	f, err := executor.Call(ctx, ex, poison, filepath.Join(t.TempDir(), "runs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(ctx); err == nil {
		t.Fatal("the poison task succeeded")
	}
	e := waitLog(t, ctx, logs, zap.InfoLevel, "task redelivered")
	if got := e.ContextMap()["attempt"]; got != int64(2) {
		t.Errorf("redelivery logged with attempt %v, want 2; %v", got, e.ContextMap())
	}
	waitLog(t, ctx, logs, zap.WarnLevel, "delivery limit reached")
	waitLog(t, ctx, logs, zap.WarnLevel, "worker process exited unexpectedly")
}
