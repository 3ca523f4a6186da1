package process_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Every package process imports is loaded and initialised at each helper's
// start. Package zap (whose HTTP level handler links net/http, crypto/tls
// and their inits) must not be among them: process and executor log through
// zapcore (internal/zlog). With it, a helper reached main about 4.5 ms later
// on a 2-core machine (bench/cmd/startupprobe).
func TestHelperLinksNoHTTP(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(gocmd, "list", "-deps", "github.com/gofutures/gofutures/process").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, banned := range []string{"go.uber.org/zap", "net/http", "crypto/tls"} {
		if slices.Contains(deps, banned) {
			t.Errorf("package process depends on %s", banned)
		}
	}
}
