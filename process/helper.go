package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/internal/ring"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// helperEnv marks a process started by an Executor as a helper. Its value is the
// protocol version the host speaks.
const helperEnv = "GOFUTURES_PROCESS_HELPER"

// helperProcsEnv, if set, is the GOMAXPROCS a helper sets (helperProcs).
// The helper removes it, so that programs its tasks start run with their
// own default.
const helperProcsEnv = "GOFUTURES_PROCESS_HELPER_PROCS"

// helperProcs returns the GOMAXPROCS each helper of a pool of workers
// helpers, with environment env, runs with: this process's GOMAXPROCS
// shared among the helpers, at least 1; or 0 (the helper's own default) if
// that is no fewer, or if env sets GOMAXPROCS (this process's environment,
// or WithEnv). A helper runs one task at a time; with a P per CPU in each
// of them, their goroutines (reading, running, writing) hand work to each
// other across threads, for nothing but system calls and wake-ups.
func helperProcs(env []string, workers int) int {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			return 0
		}
	}
	procs := runtime.GOMAXPROCS(0)
	if n := max(1, procs/workers); n < procs {
		return n
	}
	return 0
}

// Protocol file descriptors in the helper (cmd.ExtraFiles 0 and 1).
const (
	fdFromHost = 3
	fdToHost   = 4
	fdJournal  = 5 // the journal's shared memory (see journal.go)
)

// ServeIfHelper turns a process that an Executor started as its helper into a
// worker: it serves tasks with the functions of reg until the pool closes the
// connection, then exits the process; it never returns then. In any other
// process it returns at once. Call it at the top of main (and of TestMain in
// tests), before anything else runs, with the registry the pool uses:
//
//	func main() {
//		process.ServeIfHelper(registry)
//		...
//	}
//
// Options act in the helper only; give them here (WithRestorer) and not to
// New.
func ServeIfHelper(reg *Registry, opts ...ServeOption) {
	if !startedAsHelper() {
		return
	}
	os.Exit(serveMain(reg, opts))
}

// ServeOption configures the serving side of a helper: ServeIfHelper and
// Serve take them.
type ServeOption interface {
	applyServe(*serveConfig)
}

type serveConfig struct {
	restorer driver.Restorer
}

type serveOptionFunc func(*serveConfig)

func (f serveOptionFunc) applyServe(c *serveConfig) { f(c) }

// WithRestorer makes the helper give the context metadata that comes with a
// call (sent by a task whose Remote is a driver.Carrier, such as those of
// an executor wrapped by package otelfutures) to r, which restores it into
// the ctx the function runs with: so a trace continues in the helper. Without
// it the metadata is ignored. Default none. It costs nothing for calls that
// carry no metadata.
func WithRestorer(r driver.Restorer) ServeOption {
	return serveOptionFunc(func(c *serveConfig) { c.restorer = r })
}

// startedAsHelper reports whether an Executor started this process as a helper
// and ServeIfHelper (or Serve) has not run: the variable is removed then.
func startedAsHelper() bool {
	_, ok := os.LookupEnv(helperEnv)
	return ok
}

// errInHelper is New's error in a process started as a helper whose main
// did not call ServeIfHelper: it would start helpers of its own, each of
// which would do the same.
var errInHelper = fmt.Errorf("process: New called in a process that a process.Executor started as its helper (%s is set): call process.ServeIfHelper(reg) first in main, before anything else", helperEnv)

// Serve is the main function of a dedicated helper binary (see WithHelper):
// it serves tasks with the functions of reg and exits the process; it never
// returns. Started by hand rather than by an Executor, it prints why it refuses to
// run and exits with status 2.
func Serve(reg *Registry, opts ...ServeOption) {
	if !startedAsHelper() {
		fmt.Fprintf(os.Stderr, "%s is a gofutures helper binary: process.Executor starts it (process.WithHelper); it does not run by hand\n", os.Args[0])
		os.Exit(2)
	}
	os.Exit(serveMain(reg, opts))
}

func serveMain(reg *Registry, opts []ServeOption) int {
	var cfg serveConfig
	for _, o := range opts {
		o.applyServe(&cfg)
	}
	_ = os.Unsetenv(helperEnv) // programs that tasks start are not helpers
	if v, ok := os.LookupEnv(helperProcsEnv); ok {
		_ = os.Unsetenv(helperProcsEnv)
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			runtime.GOMAXPROCS(n)
		}
	}
	for _, fd := range []int{fdFromHost, fdToHost} {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			fmt.Fprintf(os.Stderr, "%s: started as a gofutures helper (%s is set) but file descriptor %d is not a pipe from process.Executor; helpers are started by process.Executor, not by hand\n", os.Args[0], helperEnv, fd)
			return 2
		}
		syscall.CloseOnExec(fd)
		// Non-blocking, so that os.NewFile makes a pollable file: a read
		// waiting for the host parks its goroutine instead of holding a
		// thread in a system call, which the runtime's monitor would
		// notice every 20 µs and answer by handing the thread's P over.
		_ = syscall.SetNonblock(fd, true)
	}
	// The host's death reaches a helper as SIGTERM, its parent-death
	// signal: it then kills its whole process group, itself included, so
	// that no process a task started outlives the host.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		_ = syscall.Kill(0, syscall.SIGKILL)
	}()
	in := os.NewFile(fdFromHost, "gofutures-from-host")
	out := os.NewFile(fdToHost, "gofutures-to-host")
	var journal []byte
	if mem, err := syscall.Mmap(fdJournal, 0, journalSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED); err == nil {
		journal = mem
		syscall.CloseOnExec(fdJournal)
	}
	if err := serveStream(context.Background(), reg, cfg.restorer, in, out, journal); err != nil {
		fmt.Fprintf(os.Stderr, "gofutures helper pid %d: %v\n", os.Getpid(), err)
		return 3
	}
	return 0
}

// serveStream is the helper's side of the stream: handshake, then calls run
// one at a time, in order, on this goroutine (a batch frame's calls too,
// each taken, started and replied to on its own), while a second one reads the
// host's frames into an inbox (so that a cancel frame reaches a running call)
// and a third writes the replies (see outbox). Before it takes a call, it
// puts every reply still buffered and a started marker for the call into the
// journal the host shares: so whenever the helper dies the host knows which
// calls finished, with their results, and which one was running. It returns
// nil when the host closes the stream (once every reply is written).
func serveStream(ctx context.Context, reg *Registry, restorer driver.Restorer, in io.Reader, out *os.File, journal []byte) error {
	var hb bytes.Buffer
	wire.AppendHello(&hb, wire.Hello{Pid: os.Getpid(), Funcs: reg.sigs()})
	if _, err := out.Write(hb.Bytes()); err != nil {
		return fmt.Errorf("writing hello: %w", err)
	}
	go reg.warm() // while the host reads the hello
	ob := newOutbox(out, journal, int64(hb.Len()))
	defer ob.close()
	rd := wire.NewReader(in, 64<<10)
	kind, body, err := rd.Next()
	if err != nil {
		return fmt.Errorf("reading hello: %w", err)
	}
	if kind != wire.KindHello {
		return fmt.Errorf("%w: first frame is not a hello", wire.ErrProtocol)
	}
	h, err := wire.ParseHello(body)
	if err != nil {
		return fmt.Errorf("host hello: %w", err)
	}
	if h.MaxFrame < 1024 || h.TaskTimeout < 0 {
		return fmt.Errorf("%w: max frame %d, task timeout %v in hello", wire.ErrProtocol, h.MaxFrame, h.TaskTimeout)
	}
	rd.SetMax(h.MaxFrame)
	sv := &server{
		ctx: ctx, reg: reg, restorer: restorer, timeout: h.TaskTimeout,
		ib: newInbox(), ob: ob, fe: newFrameEncoder(h.MaxFrame), br: bytes.NewReader(nil),
	}
	sv.dec = gob.NewDecoder(sv.br)
	sv.fe.raw = true // the host speaks wire.Version, StatusRaw included
	go sv.ib.read(rd)
	for {
		kind, body, err := sv.ib.next(func() error { return sv.fe.flush(direct{ob}) })
		if err != nil {
			if errors.Is(err, io.EOF) { // the replies still buffered go first
				if err := sv.fe.flush(ob); err != nil {
					return fmt.Errorf("writing replies: %w", err)
				}
				return ob.close()
			}
			return err
		}
		c, rest, err := wire.ParseCall(body)
		if err != nil {
			return err
		}
		if kind&wire.FlagResetPeer != 0 {
			sv.fe.newStream()
		}
		if kind&wire.FlagReset != 0 {
			sv.dec, sv.lost = gob.NewDecoder(sv.br), false
		}
		sv.br.Reset(rest)
		switch {
		case sv.lost:
			for i := range c.Count {
				sv.fe.addNotRun(c.ID+uint64(i), wire.StatusSkipped)
			}
		case c.Count > 1:
			err = sv.batch(c)
		default:
			err = sv.call(c)
		}
		sv.ib.done(body)
		if err != nil {
			return err
		}
	}
}

// server is the state of serveStream's call loop.
type server struct {
	ctx      context.Context
	reg      *Registry
	restorer driver.Restorer
	timeout  time.Duration // the host's task timeout
	ib       *inbox
	ob       *outbox
	fe       *frameEncoder
	br       *bytes.Reader // the arguments of the frame being served
	dec      *gob.Decoder  // reads br
	// lost: after arguments that could not be decoded whole, the stream
	// has lost its place: calls are skipped (the host sends them again)
	// until the host starts a new stream.
	lost bool
}

// call serves a frame of one call.
func (sv *server) call(c wire.Call) error {
	callCtx, cancelled, release := sv.ib.take(sv.ctx, c, sv.timeout)
	if cancelled { // its ctx ended before it started: decode, do not run
		rep, ok := sv.reg.serve(callCtx, c, sv.dec, sv.br, true)
		sv.lost = !ok
		sv.fe.addReply(sv.reg, c.ID, rep)
		return nil
	}
	if err := sv.start(c.ID); err != nil {
		return err
	}
	if c.Meta != nil && sv.restorer != nil {
		callCtx = sv.restorer.RestoreContext(callCtx, c.Meta)
	}
	rep, ok := sv.reg.serve(callCtx, c, sv.dec, sv.br, false)
	sv.ib.finished()
	if release != nil {
		release()
	}
	sv.lost = !ok
	sv.fe.addReply(sv.reg, c.ID, rep)
	return nil
}

// batch serves a frame of c.Count calls: their arguments are decoded at
// once, then each call is served as if it had come alone (taken, started,
// run, replied). If the arguments cannot be decoded whole, no call of the
// batch runs: each is skipped, and the host sends them again, one per
// frame, so that only a call whose own argument is bad fails.
func (sv *server) batch(c wire.Call) error {
	e := sv.reg.lookup(c.Name)
	var args any
	err := ErrNotRegistered
	if e != nil {
		err = decodeSafely(func() (err error) {
			args, err = e.decodeBatch(sv.dec, c.Count)
			return err
		})
	}
	if err != nil || sv.br.Len() != 0 {
		sv.lost = true
		for i := range c.Count {
			sv.fe.addNotRun(c.ID+uint64(i), wire.StatusSkipped)
		}
		return nil
	}
	one := c
	one.Count = 1
	for i := range c.Count {
		one.ID = c.ID + uint64(i)
		callCtx, cancelled, release := sv.ib.take(sv.ctx, one, sv.timeout)
		if cancelled { // its ctx ended before it started
			sv.fe.addNotRun(one.ID, wire.StatusNotRun)
			continue
		}
		if err := sv.start(one.ID); err != nil {
			return err
		}
		if c.Meta != nil && sv.restorer != nil {
			callCtx = sv.restorer.RestoreContext(callCtx, c.Meta)
		}
		res, err := e.runItem(callCtx, args, i)
		sv.ib.finished()
		if release != nil {
			release()
		}
		sv.fe.addReply(sv.reg, one.ID, sv.reg.replyOf(res, err, nil))
	}
	return nil
}

// start puts the started marker of call id, and every reply still
// buffered, into the journal: no system call.
func (sv *server) start(id uint64) error {
	sv.fe.addStarted(id)
	if err := sv.fe.flush(sv.ob); err != nil {
		return fmt.Errorf("writing replies: %w", err)
	}
	return nil
}

// direct writes through o.send(b, true).
type direct struct{ o *outbox }

func (d direct) Write(b []byte) (int, error) {
	if err := d.o.send(b, true); err != nil {
		return 0, err
	}
	return len(b), nil
}

// inbox holds the call frames the helper's reader goroutine has read and
// the call loop has not taken yet, and routes cancel frames: to the running
// call's ctx, or to a call not yet taken, which is then not run.
type inbox struct {
	mu      sync.Mutex
	cond    sync.Cond
	calls   ring.Ring[inFrame]
	end     error               // why the reader stopped (io.EOF: the host closed)
	cancels map[uint64]struct{} // calls not yet taken whose ctx ended
	taken   uint64              // id of the last call taken
	running uint64              // id of the call running, 0 if none
	ctx     *callCtx            // its ctx, if it can end
	free    [][]byte            // bodies to reuse
}

type inFrame struct {
	kind byte
	body []byte
}

func newInbox() *inbox {
	ib := &inbox{cancels: map[uint64]struct{}{}}
	ib.cond.L = &ib.mu
	return ib
}

// read reads the host's frames until the stream ends.
func (ib *inbox) read(rd *wire.Reader) {
	for {
		kind, body, err := rd.Next()
		if err == nil && kind == wire.KindCancel {
			var c wire.Cancel
			if c, err = wire.ParseCancel(body); err == nil {
				ib.cancelCall(c)
				continue
			}
		}
		if err == nil && kind&^(wire.FlagReset|wire.FlagResetPeer) != wire.KindCall {
			err = fmt.Errorf("%w: unexpected frame kind %#x", wire.ErrProtocol, kind)
		}
		ib.mu.Lock()
		if err != nil {
			ib.end = err
			ib.cond.Signal()
			ib.mu.Unlock()
			return
		}
		var b []byte
		if n := len(ib.free); n > 0 {
			b, ib.free = ib.free[n-1][:0], ib.free[:n-1]
		}
		ib.calls.Push(inFrame{kind, append(b, body...)})
		ib.cond.Signal()
		ib.mu.Unlock()
	}
}

func (ib *inbox) cancelCall(c wire.Cancel) {
	var cause error = context.Canceled
	if c.Deadline {
		cause = context.DeadlineExceeded
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	switch {
	case c.ID == ib.running:
		// A deadline the host saw pass ends the ctx as its own timer
		// would, whichever comes first.
		if ib.ctx != nil {
			ib.ctx.end(cause)
		}
	case c.ID > ib.taken: // not taken yet: it will not run
		ib.cancels[c.ID] = struct{}{}
	}
}

// next returns the next call frame, waiting for one; before it waits, it
// calls flush (the replies leave before the helper idles).
func (ib *inbox) next(flush func() error) (kind byte, body []byte, err error) {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	for ib.calls.Len() == 0 && ib.end == nil {
		ib.mu.Unlock()
		err := flush()
		ib.mu.Lock()
		if err != nil {
			return 0, nil, fmt.Errorf("writing replies: %w", err)
		}
		if ib.calls.Len() == 0 && ib.end == nil {
			ib.cond.Wait()
		}
	}
	f, ok := ib.calls.Pop()
	if !ok {
		return 0, nil, ib.end
	}
	return f.kind, f.body, nil
}

// done gives back a body from next once it is no longer used.
func (ib *inbox) done(body []byte) {
	if cap(body) > 64<<10 {
		return
	}
	ib.mu.Lock()
	if len(ib.free) < 64 {
		ib.free = append(ib.free, body)
	}
	ib.mu.Unlock()
}

// take marks call c as taken and returns the ctx to run it with (a
// *callCtx): the caller's deadline (or, without one, the task timeout from
// now), ended by a cancel frame. cancelled reports a cancel frame that came
// before; then the call must not run. Once it returned, the caller calls
// ib.finished and release, if not nil, which ends the call's ctx.
func (ib *inbox) take(base context.Context, c wire.Call, timeout time.Duration) (ctx context.Context, cancelled bool, release func()) {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	ib.taken = c.ID
	if _, ok := ib.cancels[c.ID]; ok { // its arguments are only decoded: no ctx needed
		delete(ib.cancels, c.ID)
		return base, true, nil
	}
	var deadline time.Time
	switch {
	case c.Deadline != 0:
		deadline = time.Unix(0, c.Deadline)
	case timeout > 0:
		deadline = time.Now().Add(timeout)
	}
	if !c.Cancellable && deadline.IsZero() {
		ib.running, ib.ctx = c.ID, nil
		return base, false, nil
	}
	cc := newCallCtx(base, deadline)
	ib.running, ib.ctx = c.ID, cc
	return cc, false, func() { cc.end(context.Canceled) }
}

func (ib *inbox) finished() {
	ib.mu.Lock()
	ib.running, ib.ctx = 0, nil
	ib.mu.Unlock()
}
