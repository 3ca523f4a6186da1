package runlog

import (
	"bytes"
	"os"
	"testing"
)

// Append appends one line to the file at path, creating it, and returns
// how many lines the file then holds: the executions so far, this one
// included.
func Append(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = f.WriteString("ran\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return Count(path)
}

// Count returns how many lines the file at path holds; a missing file holds
// none.
func Count(path string) (int, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	return bytes.Count(b, []byte("\n")), err
}

// Runs is Count for a test: it fails t if the file cannot be read.
func Runs(t testing.TB, path string) int {
	t.Helper()
	n, err := Count(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Temporary is an error that says it is temporary, or a timeout, as
// net.Error does: the default retry test retries it.
type Temporary struct{ IsTimeout bool }

// Error implements error.
func (e Temporary) Error() string {
	if e.IsTimeout {
		return "timed out (transient)"
	}
	return "try again (transient)"
}

// Temporary reports whether the error is not a timeout.
func (e Temporary) Temporary() bool { return !e.IsTimeout }

// Timeout reports whether the error is a timeout.
func (e Temporary) Timeout() bool { return e.IsTimeout }
