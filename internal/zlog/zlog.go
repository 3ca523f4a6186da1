package zlog

import (
	"fmt"
	"reflect"
	"time"

	"go.uber.org/zap/zapcore"
)

// Source is what the executors' WithLogger options take: a *zap.Logger.
type Source = interface{ Core() zapcore.Core }

// Logger writes entries to a zapcore.Core. The zero value and nil discard
// everything. It is safe for concurrent use.
type Logger struct{ core zapcore.Core }

// New returns a Logger writing to s's core; nil (also a nil *zap.Logger)
// gives one that discards everything.
func New(s Source) *Logger {
	if isNil(s) {
		return &Logger{}
	}
	return &Logger{core: s.Core()}
}

func isNil(s Source) bool {
	if s == nil {
		return true
	}
	v := reflect.ValueOf(s)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// With returns a Logger that adds fields to every entry.
func (l *Logger) With(fields ...zapcore.Field) *Logger {
	if l == nil || l.core == nil {
		return l
	}
	return &Logger{core: l.core.With(fields)}
}

// Check returns the entry to write at lvl, or nil if the core would drop
// it, so that a caller builds its fields only when they are written.
func (l *Logger) Check(lvl zapcore.Level, msg string) *zapcore.CheckedEntry {
	if l == nil || l.core == nil || !l.core.Enabled(lvl) {
		return nil
	}
	return l.core.Check(zapcore.Entry{Level: lvl, Time: time.Now(), Message: msg}, nil)
}

func (l *Logger) log(lvl zapcore.Level, msg string, fields []zapcore.Field) {
	if ce := l.Check(lvl, msg); ce != nil {
		ce.Write(fields...)
	}
}

// Debug logs at DebugLevel.
func (l *Logger) Debug(msg string, fields ...zapcore.Field) { l.log(zapcore.DebugLevel, msg, fields) }

// Info logs at InfoLevel.
func (l *Logger) Info(msg string, fields ...zapcore.Field) { l.log(zapcore.InfoLevel, msg, fields) }

// Warn logs at WarnLevel.
func (l *Logger) Warn(msg string, fields ...zapcore.Field) { l.log(zapcore.WarnLevel, msg, fields) }

// Error logs at ErrorLevel.
func (l *Logger) Error(msg string, fields ...zapcore.Field) { l.log(zapcore.ErrorLevel, msg, fields) }

// Printf logs at InfoLevel, for libraries that take a printf logger (ants).
func (l *Logger) Printf(format string, args ...any) {
	if l != nil && l.core != nil && l.core.Enabled(zapcore.InfoLevel) {
		l.Info(fmt.Sprintf(format, args...))
	}
}

// The field constructors below make the same fields as zap's of the same
// name.

// String is zap.String.
func String(key, v string) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringType, String: v}
}

// Int is zap.Int.
func Int(key string, v int) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.Int64Type, Integer: int64(v)}
}

// Bool is zap.Bool.
func Bool(key string, v bool) zapcore.Field {
	var i int64
	if v {
		i = 1
	}
	return zapcore.Field{Key: key, Type: zapcore.BoolType, Integer: i}
}

// Error is zap.Error: the field "error", skipped for a nil err.
func Error(err error) zapcore.Field {
	if err == nil {
		return zapcore.Field{Type: zapcore.SkipType}
	}
	return zapcore.Field{Key: "error", Type: zapcore.ErrorType, Interface: err}
}

// Stringer is zap.Stringer.
func Stringer(key string, v fmt.Stringer) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringerType, Interface: v}
}

// Any is zap.Any for the values logged here (a recovered panic value): a
// string, an error or a fmt.Stringer as such, anything else by reflection.
func Any(key string, v any) zapcore.Field {
	switch x := v.(type) {
	case string:
		return String(key, x)
	case error:
		return zapcore.Field{Key: key, Type: zapcore.ErrorType, Interface: x}
	case fmt.Stringer:
		return Stringer(key, x)
	}
	return zapcore.Field{Key: key, Type: zapcore.ReflectType, Interface: v}
}
