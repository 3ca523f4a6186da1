package cluster

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

// Compile-time checks: each kind of option is accepted where it acts.
var (
	_ ExecutorOption = WithAckWait(0)
	_ WorkerOption   = WithLocalHelpers(0)
	_ Option         = WithURL("")
	_ ExecutorOption = Option(nil)
	_ WorkerOption   = Option(nil)
)

// Sides an option acts on.
const (
	onExecutor = "ExecutorOption"
	onWorker   = "WorkerOption"
	onBoth     = "Option"
)

// optionSides lists every exported With* function of the package, one of
// each, and the side it acts on: a new option must be added here, with the
// type that says where it acts.
var optionSides = map[string]struct {
	opt  any
	side string
}{
	"WithName":            {WithName("x"), onBoth},
	"WithLogger":          {WithLogger(nil), onBoth},
	"WithURL":             {WithURL("nats://127.0.0.1:4222"), onBoth},
	"WithToken":           {WithToken("t"), onBoth},
	"WithUserPassword":    {WithUserPassword("u", "p"), onBoth},
	"WithNKeySeed":        {WithNKeySeed("SU"), onBoth},
	"WithTLS":             {WithTLS(nil), onBoth},
	"WithStream":          {WithStream("S"), onBoth},
	"WithWorkerProcesses": {WithWorkerProcesses(1), onBoth},
	"WithConcurrency":     {WithConcurrency(1), onBoth},
	"WithPrefetch":        {WithPrefetch(1), onBoth},
	"WithDrainTimeout":    {WithDrainTimeout(time.Second), onBoth},

	"WithHooks":          {WithHooks(nil), onExecutor},
	"WithServerTLS":      {WithServerTLS(nil), onExecutor},
	"WithListen":         {WithListen(":0"), onExecutor},
	"WithStoreDir":       {WithStoreDir("d"), onExecutor},
	"WithStorage":        {WithStorage(MemoryStorage), onExecutor},
	"WithReplicas":       {WithReplicas(3), onExecutor},
	"WithAckWait":        {WithAckWait(time.Second), onExecutor},
	"WithMaxBackOff":     {WithMaxBackOff(time.Second), onExecutor},
	"WithMaxAttempts":    {WithMaxAttempts(1), onExecutor},
	"WithMaxAckPending":  {WithMaxAckPending(1), onExecutor},
	"WithWorkersHint":    {WithWorkersHint(1), onExecutor},
	"WithPublishTimeout": {WithPublishTimeout(time.Second), onExecutor},

	"WithLocalHelpers": {WithLocalHelpers(1), onWorker},
	"WithRestorer":     {WithRestorer(nil), onWorker},
}

// TestOptionSides: every option is an ExecutorOption, a WorkerOption or
// both (an Option) as the table says, both by its declared result type and
// by what its value implements; and the table lists every exported With*
// function of the package, so that a new option of the wrong kind, or not
// classified at all, fails here.
func TestOptionSides(t *testing.T) {
	declared := declaredOptions(t)
	for name := range declared {
		if _, ok := optionSides[name]; !ok {
			t.Errorf("%s is not in optionSides: add it, with the side it acts on", name)
		}
	}
	for name, tc := range optionSides {
		t.Run(name, func(t *testing.T) {
			res, ok := declared[name]
			if !ok {
				t.Fatalf("%s is in optionSides but not declared in the package", name)
			}
			if res != tc.side {
				t.Errorf("%s returns %s, want %s", name, res, tc.side)
			}
			_, isExec := tc.opt.(ExecutorOption)
			_, isWork := tc.opt.(WorkerOption)
			_, isBoth := tc.opt.(Option)
			want := map[string][3]bool{onExecutor: {true, false, false}, onWorker: {false, true, false}, onBoth: {true, true, true}}[tc.side]
			if got := [3]bool{isExec, isWork, isBoth}; got != want {
				t.Errorf("%s's value implements ExecutorOption, WorkerOption, Option = %v, want %v", name, got, want)
			}
		})
	}
}

// declaredOptions returns the exported With* functions declared in the
// package's non-test files, with the name of their result type.
func declaredOptions(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !fd.Name.IsExported() || !strings.HasPrefix(fd.Name.Name, "With") {
				continue
			}
			res := "(none)"
			if r := fd.Type.Results; r != nil && len(r.List) == 1 {
				if id, ok := r.List[0].Type.(*ast.Ident); ok {
					res = id.Name
				}
			}
			out[fd.Name.Name] = res
		}
	}
	if len(out) == 0 {
		t.Fatal("no With* function found: run the test in the package directory")
	}
	return out
}

// TestOptionApplies: an Option sets the same field on either side, and an
// option of one side sets it on its side.
func TestOptionApplies(t *testing.T) {
	e, w := defaultConfig(), defaultConfig()
	WithConcurrency(7).applyExecutor(&e)
	WithConcurrency(7).applyWorker(&w)
	if e.concurrency != 7 || w.concurrency != 7 {
		t.Fatalf("WithConcurrency(7): executor %d, worker %d", e.concurrency, w.concurrency)
	}
	WithAckWait(time.Minute).applyExecutor(&e)
	WithLocalHelpers(3).applyWorker(&w)
	if e.ackWait != time.Minute || w.localHelpers != 3 {
		t.Fatalf("ack wait %v, local helpers %d", e.ackWait, w.localHelpers)
	}
}

// TestOptionNKeySeed: a seed that is not a user seed fails New and
// NewWorker at once, before anything connects.
func TestOptionNKeySeed(t *testing.T) {
	acct, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	acctSeed, _ := acct.Seed()
	for name, seed := range map[string]string{"garbage": "SUNOTASEED", "account seed": string(acctSeed)} {
		t.Run(name, func(t *testing.T) {
			_, err := NewWorker(testReg, WithURL("nats://127.0.0.1:1"), WithNKeySeed(seed))
			if err == nil || !strings.Contains(err.Error(), "bad nkey seed") {
				t.Fatalf("NewWorker: %v, want a bad nkey seed error", err)
			}
			_, err = New(t.Context(), testReg, WithNKeySeed(seed), WithStoreDir(t.TempDir()))
			if err == nil || !strings.Contains(err.Error(), "bad nkey seed") {
				t.Fatalf("New: %v, want a bad nkey seed error", err)
			}
		})
	}
}

// TestWorkerTuningNeedsProcesses: the worker settings given to New act
// only on the worker processes it starts; without WithWorkerProcesses they
// would do nothing, so New refuses them.
func TestWorkerTuningNeedsProcesses(t *testing.T) {
	ctx := waitCtx(t)
	for _, o := range []Option{WithConcurrency(4), WithPrefetch(0), WithDrainTimeout(time.Second)} {
		ex, err := New(ctx, testReg, WithToken(testToken), WithStoreDir(t.TempDir()), o)
		if err == nil {
			_ = ex.Stop(ctx)
			t.Fatal("New accepted a worker setting without WithWorkerProcesses")
		}
		if !strings.Contains(err.Error(), "WithWorkerProcesses") {
			t.Errorf("error %q does not say what to do", err)
		}
	}
}
