package zlog_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gofutures/gofutures/internal/zlog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The constructors make the fields zap's do, so that what a *zap.Logger's
// core receives is what it received when the executors used package zap.
func TestFieldsAreZaps(t *testing.T) {
	err := errors.New("boom")
	for _, tc := range []struct {
		name      string
		ours, zap zapcore.Field
	}{
		{"String", zlog.String("k", "v"), zap.String("k", "v")},
		{"Int", zlog.Int("k", -7), zap.Int("k", -7)},
		{"Bool true", zlog.Bool("k", true), zap.Bool("k", true)},
		{"Bool false", zlog.Bool("k", false), zap.Bool("k", false)},
		{"Error", zlog.Error(err), zap.Error(err)},
		{"Error nil", zlog.Error(nil), zap.Error(nil)},
		{"Stringer", zlog.Stringer("k", time.Second), zap.Stringer("k", time.Second)},
		{"Any string", zlog.Any("k", "v"), zap.Any("k", "v")},
		{"Any error", zlog.Any("k", err), zap.Any("k", err)},
		{"Any struct", zlog.Any("k", struct{ A int }{1}), zap.Any("k", struct{ A int }{1})},
	} {
		if !reflect.DeepEqual(tc.ours, tc.zap) {
			t.Errorf("%s: %#v, zap makes %#v", tc.name, tc.ours, tc.zap)
		}
	}
}

func TestLoggerWritesToTheCore(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := zlog.New(zap.New(core)).With(zlog.String("executor", "x"))
	l.Debug("dropped")
	if ce := l.Check(zapcore.DebugLevel, "dropped too"); ce != nil {
		t.Error("Check returned an entry below the core's level")
	}
	l.Info("started", zlog.Int("worker", 3))
	l.Warn("slow")
	l.Error("failed", zlog.Error(errors.New("boom")))
	l.Printf("ants says %d", 42)
	got := logs.AllUntimed()
	want := []struct {
		lvl zapcore.Level
		msg string
		ctx map[string]any
	}{
		{zapcore.InfoLevel, "started", map[string]any{"executor": "x", "worker": int64(3)}},
		{zapcore.WarnLevel, "slow", map[string]any{"executor": "x"}},
		{zapcore.ErrorLevel, "failed", map[string]any{"executor": "x", "error": "boom"}},
		{zapcore.InfoLevel, "ants says 42", map[string]any{"executor": "x"}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Level != w.lvl || got[i].Message != w.msg || !reflect.DeepEqual(got[i].ContextMap(), w.ctx) {
			t.Errorf("entry %d: %v %q %v, want %v %q %v", i, got[i].Level, got[i].Message, got[i].ContextMap(), w.lvl, w.msg, w.ctx)
		}
	}
}

func TestNilDiscards(t *testing.T) {
	var nilZap *zap.Logger
	for _, l := range []*zlog.Logger{zlog.New(nil), zlog.New(nilZap), nil, zlog.New(nil).With(zlog.Int("k", 1))} {
		l.Info("nothing")
		l.Printf("nothing %d", 1)
		if l.Check(zapcore.ErrorLevel, "x") != nil {
			t.Error("a nil logger returned an entry")
		}
	}
}
