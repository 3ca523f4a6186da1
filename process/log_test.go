package process_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gofutures/gofutures/process"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestLogging(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	p := newPool(t, process.WithWorkers(1), process.WithName("logged"), process.WithLogger(zap.New(core)))
	pid, err := call(t, p, pidFn, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, p, exitFn, 5); err == nil {
		t.Fatal("exit did not fail")
	}
	if err := p.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	has := func(msg string, fields map[string]any) bool {
		for _, e := range logs.FilterMessage(msg).All() {
			m := e.ContextMap()
			ok := m["executor"] == "logged"
			for k, v := range fields {
				ok = ok && m[k] == v
			}
			if ok {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		msg    string
		fields map[string]any
	}{
		{"worker started", map[string]any{"pid": int64(pid), "worker": int64(1)}},
		{"helper stderr", map[string]any{"pid": int64(pid), "line": "about to exit with 5"}},
		{"worker exited", map[string]any{"pid": int64(pid), "reason": "crashed", "respawned": true, "exit_code": int64(5)}},
		{"worker exited", map[string]any{"reason": "shutdown", "respawned": false}},
		{"shutdown begun", nil},
		{"shutdown done", nil},
	} {
		if !has(c.msg, c.fields) {
			var all []string
			for _, e := range logs.All() {
				all = append(all, fmt.Sprint(e.Message, " ", e.ContextMap()))
			}
			t.Errorf("no log %q with %v in:\n%s", c.msg, c.fields, strings.Join(all, "\n"))
		}
	}
}
