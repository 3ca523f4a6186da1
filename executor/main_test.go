package executor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// ants starts goroutines at import: only our own leaks count.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }
