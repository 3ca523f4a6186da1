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
	"syscall"

	"github.com/gofutures/gofutures/process/internal/wire"
)

// helperEnv marks a process started by a Pool as a helper. Its value is the
// protocol version the host speaks.
const helperEnv = "GOFUTURES_PROCESS_HELPER"

// Protocol file descriptors in the helper (cmd.ExtraFiles 0 and 1).
const (
	fdFromHost = 3
	fdToHost   = 4
)

// ServeIfHelper turns a process that a Pool started as its helper into a
// worker: it serves tasks with the functions of reg until the pool closes the
// connection, then exits the process; it never returns then. In any other
// process it returns at once. Call it at the top of main (and of TestMain in
// tests), before anything else runs, with the registry the pool uses:
//
//	func main() {
//		process.ServeIfHelper(registry)
//		...
//	}
func ServeIfHelper(reg *Registry) {
	if !startedAsHelper() {
		return
	}
	os.Exit(serveMain(reg))
}

// startedAsHelper reports whether a Pool started this process as a helper
// and ServeIfHelper (or Serve) has not run: the variable is removed then.
func startedAsHelper() bool {
	_, ok := os.LookupEnv(helperEnv)
	return ok
}

// errInHelper is New's error in a process started as a helper whose main
// did not call ServeIfHelper: it would start helpers of its own, each of
// which would do the same.
var errInHelper = fmt.Errorf("process: New called in a process that a process.Pool started as its helper (%s is set): call process.ServeIfHelper(reg) first in main, before anything else", helperEnv)

// Serve is the main function of a dedicated helper binary (see WithHelper):
// it serves tasks with the functions of reg and exits the process; it never
// returns. Started by hand rather than by a Pool, it prints why it refuses to
// run and exits with status 2.
func Serve(reg *Registry) {
	if !startedAsHelper() {
		fmt.Fprintf(os.Stderr, "%s is a gofutures helper binary: process.Pool starts it (process.WithHelper); it does not run by hand\n", os.Args[0])
		os.Exit(2)
	}
	os.Exit(serveMain(reg))
}

func serveMain(reg *Registry) int {
	_ = os.Unsetenv(helperEnv) // programs that tasks start are not helpers
	for _, fd := range []int{fdFromHost, fdToHost} {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			fmt.Fprintf(os.Stderr, "%s: started as a gofutures helper (%s is set) but file descriptor %d is not a pipe from process.Pool; helpers are started by process.Pool, not by hand\n", os.Args[0], helperEnv, fd)
			return 2
		}
		syscall.CloseOnExec(fd)
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
	if err := serveStream(context.Background(), reg, in, out); err != nil {
		fmt.Fprintf(os.Stderr, "gofutures helper pid %d: %v\n", os.Getpid(), err)
		return 3
	}
	return 0
}

// serveStream is the helper's loop: handshake, then read a call, run it,
// write its reply, in order, one at a time. Before it takes a call, it writes
// every reply still buffered and a started marker for the call, in one write:
// so a reply leaves as soon as the next call begins (or the helper would
// block on reading), and whenever the helper dies the host knows which calls
// finished and which one was running. It returns nil when the host closes
// the stream.
func serveStream(ctx context.Context, reg *Registry, in io.Reader, out io.Writer) error {
	var hb bytes.Buffer
	if err := wire.AppendHello(&hb, wire.Hello{Pid: os.Getpid(), Funcs: reg.sigs()}); err != nil {
		return err
	}
	if _, err := out.Write(hb.Bytes()); err != nil {
		return fmt.Errorf("writing hello: %w", err)
	}
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
	if h.MaxFrame < 1024 {
		return fmt.Errorf("%w: max frame %d in hello", wire.ErrProtocol, h.MaxFrame)
	}
	rd.SetMax(h.MaxFrame)
	fe := newFrameEncoder(h.MaxFrame)
	br := bytes.NewReader(nil)
	dec := gob.NewDecoder(br)
	// After arguments that could not be decoded whole, the stream has lost
	// its place: calls are skipped (the host sends them again) until the
	// host starts a new stream.
	lost := false
	for {
		if !rd.FrameBuffered() {
			if err := fe.flush(out); err != nil {
				return fmt.Errorf("writing replies: %w", err)
			}
		}
		kind, body, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if kind&^(wire.FlagReset|wire.FlagResetPeer) != wire.KindCall {
			return fmt.Errorf("%w: unexpected frame kind %#x", wire.ErrProtocol, kind)
		}
		c, rest, err := wire.ParseCall(body)
		if err != nil {
			return err
		}
		if kind&wire.FlagResetPeer != 0 {
			fe.newStream()
		}
		if kind&wire.FlagReset != 0 {
			dec, lost = gob.NewDecoder(br), false
		}
		if lost {
			fe.addSkipped(c.ID)
			continue
		}
		fe.addStarted(c.ID)
		if err := fe.flush(out); err != nil {
			return fmt.Errorf("writing replies: %w", err)
		}
		br.Reset(rest)
		rep, ok := reg.serve(ctx, c, dec, br)
		lost = !ok
		fe.addReply(reg, c.ID, rep)
	}
}
