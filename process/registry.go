package process

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/internal/remotecall"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// Registry holds the functions that helper processes can run, by name, and
// the sentinel errors that keep their identity across the process boundary.
// The host and its helpers must build the same registry: keep it in a
// package-level variable filled by package-level Register calls, so that the
// program re-executed as a helper has it too.
//
// Lookups are lock-free; registration takes a lock and copies the table, so
// register everything at start-up. All methods are safe for concurrent use.
type Registry struct {
	mu        sync.Mutex // serialises registration
	funcs     atomic.Pointer[map[string]entry]
	sentinels atomic.Pointer[[]sentinel]
	serveCall *Func[[]byte, []byte] // built in: runs an encoded call (Executor.RunCall)
	callCodec                       // single-message calls, for package cluster
}

// callCodec gives a Registry the methods of remotecall.Codec (EncodeCall,
// ServeCall, DecodeReply) without documenting them as its own.
type callCodec = remotecall.Codec

// serveCallName is the name of the function every Registry has built in:
// it runs a call encoded by EncodeCall with ServeCall, so that RunCall
// can run another executor's encoded calls in a helper. Names omits it.
const serveCallName = "gofutures/process.ServeCall"

type sentinel struct {
	name string
	err  error
}

// entry is the untyped view of a *Func.
type entry interface {
	sig() wire.FuncSig
	// ref returns the function's name and itself, made once (for
	// Executor.lookup, which remembers it without an allocation).
	ref() *funcRef
	// types returns the argument and result types.
	types() (arg, result reflect.Type)
	// accepts reports whether args (r.Args()) and r's result are of the
	// function's types.
	accepts(args any, r driver.Remote) bool
	// decodeArgs decodes A, or []A for a chunk.
	decodeArgs(dec decoder, chunk bool) (any, error)
	// batchArgs returns the arguments of jobs, each an A, as one []A.
	batchArgs(jobs []*job) any
	// decodeBatch decodes the []A of a batch of n calls.
	decodeBatch(dec decoder, n int) (any, error)
	// runItem runs the function on item i of args (from decodeBatch) and
	// returns R. A panic becomes an *executor.PanicError.
	runItem(ctx context.Context, args any, i int) (any, error)
	// run runs the function on args (from decodeArgs) and returns R, or []R
	// and one error per item (nil if all succeeded) for a chunk. Panics
	// become *executor.PanicError.
	run(ctx context.Context, args any, chunk bool) (res any, err error, itemErrs []error)
}

// decoder is what entries decode from (a *gob.Decoder).
type decoder interface{ Decode(any) error }

// builtinSentinels are known to every registry.
var builtinSentinels = []sentinel{
	{"context.Canceled", context.Canceled},
	{"context.DeadlineExceeded", context.DeadlineExceeded},
	{"process.ErrEncode", ErrEncode},
	{"process.ErrFrameTooLarge", ErrFrameTooLarge},
	{"process.ErrNotRegistered", ErrNotRegistered},
}

// NewRegistry returns an empty registry. It knows the sentinels
// context.Canceled, context.DeadlineExceeded and this package's ErrEncode,
// ErrFrameTooLarge and ErrNotRegistered already.
func NewRegistry() *Registry {
	r := &Registry{}
	m := map[string]entry{}
	r.funcs.Store(&m)
	s := slices.Clone(builtinSentinels)
	r.sentinels.Store(&s)
	r.callCodec = remotecall.NewCodec(encodeCall, r.serveCallMsg, r.decodeReplyMsg)
	r.serveCall = MustRegister(r, serveCallName, r.serveCallMsg)
	return r
}

// Func is a function registered by name in a Registry: the handle to pass to
// executor.Call and executor.CallChunk (or package pool). It implements
// executor.Func[A, R], so it also runs in this process (on an
// executor.GoPool, or by calling Call), and driver.Named, so that remote
// executors send its name. It is immutable and safe for concurrent use.
type Func[A, R any] struct {
	name string
	fn   func(context.Context, A) (R, error)
	idem bool
	self funcRef
}

// funcRef is an entry and its name.
type funcRef struct {
	name string
	e    entry
}

// RegisterOption configures a function registered with Register.
type RegisterOption interface {
	applyRegister(*registerConfig)
}

type registerConfig struct {
	idempotent bool
}

type registerFunc func(*registerConfig)

func (f registerFunc) applyRegister(c *registerConfig) { f(c) }

// Idempotent declares that running the function twice on the same argument
// does no harm (it has no side effects, or they are the same the second
// time), so that an executor.Retry policy may run it again after its worker
// died while running it: a helper process that was killed or crashed
// (executor.ErrWorkerDied), a cluster task whose deliveries ran out. Without
// it, such a call is never retried, because it may have had its effects.
func Idempotent() RegisterOption {
	return registerFunc(func(c *registerConfig) { c.idempotent = true })
}

var (
	_ executor.Func[int, int] = (*Func[int, int])(nil)
	_ driver.Named            = (*Func[int, int])(nil)
)

// Register adds fn to reg under name and returns its handle. A, R and the
// slices []A and []R must be types gob can encode (not interfaces, channels
// or functions, and structs need exported fields); otherwise, or if name is
// empty, too long or taken, it returns an error. Call it at package level (see
// MustRegister) so that helper processes register the same functions. The
// option Idempotent lets retry policies run the function again after its
// worker died. In a helper process, Register leaves the check of the types
// to the host, which registers the same functions (the helper runs it after
// its handshake has begun).
func Register[A, R any](reg *Registry, name string, fn func(context.Context, A) (R, error), opts ...RegisterOption) (*Func[A, R], error) {
	if fn == nil {
		return nil, fmt.Errorf("process: Register %q: nil function", name)
	}
	if name == "" || len(name) > wire.MaxNameLen {
		return nil, fmt.Errorf("process: Register: bad function name %q", name)
	}
	// A helper leaves the check to its host, which registers the same
	// functions and fails first: in a helper it runs later, off the
	// critical path of its start (Registry.warm).
	for _, t := range []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[R]()} {
		if startedAsHelper() {
			break
		}
		if err := checkGob(t); err != nil {
			return nil, fmt.Errorf("process: Register %q: %w", name, err)
		}
	}
	var cfg registerConfig
	for _, o := range opts {
		o.applyRegister(&cfg)
	}
	f := &Func[A, R]{name: name, fn: fn, idem: cfg.idempotent}
	f.self = funcRef{name, f}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	old := *reg.funcs.Load()
	if _, ok := old[name]; ok {
		return nil, fmt.Errorf("process: Register: %q is already registered", name)
	}
	m := maps.Clone(old)
	m[name] = f
	reg.funcs.Store(&m)
	return f, nil
}

// MustRegister is Register for package-level variables: it panics on error.
func MustRegister[A, R any](reg *Registry, name string, fn func(context.Context, A) (R, error), opts ...RegisterOption) *Func[A, R] {
	f, err := Register(reg, name, fn, opts...)
	if err != nil {
		panic(err)
	}
	return f
}

// checkGob reports whether gob can encode values of type t and []t.
func checkGob(t reflect.Type) error {
	for _, tt := range []reflect.Type{t, reflect.SliceOf(t)} {
		base := tt
		for base.Kind() == reflect.Pointer {
			base = base.Elem()
		}
		if base.Kind() == reflect.Interface {
			return fmt.Errorf("type %v: interface types cannot be argument or result types; use a concrete type", tt)
		}
		if err := gob.NewEncoder(io.Discard).EncodeValue(reflect.New(base)); err != nil {
			return fmt.Errorf("type %v cannot be encoded: %w", tt, err)
		}
	}
	return nil
}

// warm runs, in a helper, the check that Register leaves to the host
// there (checkGob of every function's types): it compiles gob's encoders
// for those types, which the helper's first reply would otherwise wait for.
// The helper runs it on a goroutine of its own once its hello is sent,
// while the host answers. A failure or a panic (in a GobEncode method) is
// ignored: the same check passed in the host.
func (reg *Registry) warm() {
	for _, e := range *reg.funcs.Load() {
		a, r := e.types()
		for _, t := range []reflect.Type{a, r} {
			func() {
				defer func() { _ = recover() }()
				_ = checkGob(t)
			}()
		}
	}
}

// RegisterError makes err keep its identity across the process boundary: an
// error returned by a helper for which errors.Is(err, target) holds arrives
// as a *RemoteError that unwraps to target, so errors.Is works in the host.
// Register the same sentinels, under the same names, in host and helper (at
// package level). Errors are matched in registration order; the first match
// wins. It fails if name or err is taken, or empty.
func (reg *Registry) RegisterError(name string, err error) error {
	if name == "" || err == nil {
		return errors.New("process: RegisterError: empty name or nil error")
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	old := *reg.sentinels.Load()
	for _, s := range old {
		if s.name == name || s.err == err {
			return fmt.Errorf("process: RegisterError: %q (%v) is already registered", name, err)
		}
	}
	s := append(slices.Clone(old), sentinel{name, err})
	reg.sentinels.Store(&s)
	return nil
}

// MustRegisterError is RegisterError that panics on error, for package-level
// variables.
func (reg *Registry) MustRegisterError(name string, err error) error {
	if e := reg.RegisterError(name, err); e != nil {
		panic(e)
	}
	return err
}

// Names returns the names of the registered functions, sorted.
func (reg *Registry) Names() []string {
	names := slices.Sorted(maps.Keys(*reg.funcs.Load()))
	return slices.DeleteFunc(names, func(n string) bool { return n == serveCallName })
}

func (reg *Registry) lookup(name string) entry { return (*reg.funcs.Load())[name] }

// sigs returns the signatures of the registered functions, sorted by name.
func (reg *Registry) sigs() []wire.FuncSig {
	m := *reg.funcs.Load()
	out := make([]wire.FuncSig, 0, len(m))
	for _, n := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[n].sig())
	}
	return out
}

func (reg *Registry) sentinelName(err error) string {
	for _, s := range *reg.sentinels.Load() {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return ""
}

func (reg *Registry) sentinel(name string) error {
	for _, s := range *reg.sentinels.Load() {
		if s.name == name {
			return s.err
		}
	}
	return nil
}

// FuncName returns the name f was registered under (driver.Named).
func (f *Func[A, R]) FuncName() string { return f.name }

// Idempotent reports whether f was registered with Idempotent. A retry
// policy (executor.Retry) reads it: only an idempotent function is retried
// after its worker died.
func (f *Func[A, R]) Idempotent() bool { return f.idem }

// Call runs the function in this process, in the calling goroutine
// (executor.Func). It does not recover panics.
func (f *Func[A, R]) Call(ctx context.Context, arg A) (R, error) { return f.fn(ctx, arg) }

func (f *Func[A, R]) ref() *funcRef { return &f.self }

func (f *Func[A, R]) types() (reflect.Type, reflect.Type) {
	return reflect.TypeFor[A](), reflect.TypeFor[R]()
}

func (f *Func[A, R]) sig() wire.FuncSig {
	return wire.FuncSig{Name: f.name, Arg: reflect.TypeFor[A]().String(), Result: reflect.TypeFor[R]().String()}
}

func (f *Func[A, R]) accepts(args any, r driver.Remote) bool {
	if r.Chunk() {
		_, ok1 := args.([]A)
		_, ok2 := r.Result().(*[]R)
		return ok1 && ok2
	}
	_, ok1 := args.(A)
	_, ok2 := r.Result().(*R)
	return ok1 && ok2
}

func (f *Func[A, R]) batchArgs(jobs []*job) any {
	a := make([]A, len(jobs))
	for i, j := range jobs {
		a[i] = j.args.(A)
	}
	return a
}

func (f *Func[A, R]) decodeBatch(dec decoder, n int) (any, error) {
	var a []A
	if err := dec.Decode(&a); err != nil {
		return nil, err
	}
	if len(a) != n {
		return nil, fmt.Errorf("%d arguments for a batch of %d calls", len(a), n)
	}
	return a, nil
}

func (f *Func[A, R]) runItem(ctx context.Context, args any, i int) (any, error) {
	return f.safeCall(ctx, args.([]A)[i])
}

func (f *Func[A, R]) decodeArgs(dec decoder, chunk bool) (any, error) {
	if chunk {
		var a []A
		err := dec.Decode(&a)
		return a, err
	}
	var a A
	err := dec.Decode(&a)
	return a, err
}

func (f *Func[A, R]) run(ctx context.Context, args any, chunk bool) (any, error, []error) {
	if !chunk {
		r, err := f.safeCall(ctx, args.(A))
		return r, err, nil
	}
	in := args.([]A)
	out := make([]R, len(in))
	var errs []error
	done := ctx.Done()
	for i, a := range in {
		if done != nil && i&15 == 0 && ctx.Err() != nil { // the rest never start
			if errs == nil {
				errs = make([]error, len(in))
			}
			for k := i; k < len(in); k++ {
				errs[k] = context.Cause(ctx)
			}
			break
		}
		r, err := f.safeCall(ctx, a)
		out[i] = r
		if err != nil {
			if errs == nil {
				errs = make([]error, len(in))
			}
			errs[i] = err
		}
	}
	return out, nil, errs
}

func (f *Func[A, R]) safeCall(ctx context.Context, a A) (r R, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &executor.PanicError{Value: v, Stack: stack()}
		}
	}()
	return f.fn(ctx, a)
}
