package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
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
	if _, ok := os.LookupEnv(helperEnv); !ok {
		return
	}
	os.Exit(serveMain(reg))
}

// Serve is the main function of a dedicated helper binary (see WithHelper):
// it serves tasks with the functions of reg and exits the process; it never
// returns. Started by hand rather than by a Pool, it prints why it refuses to
// run and exits with status 2.
func Serve(reg *Registry) {
	if _, ok := os.LookupEnv(helperEnv); !ok {
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
	in := os.NewFile(fdFromHost, "gofutures-from-host")
	out := os.NewFile(fdToHost, "gofutures-to-host")
	if err := serveStream(context.Background(), reg, in, out); err != nil {
		fmt.Fprintf(os.Stderr, "gofutures helper pid %d: %v\n", os.Getpid(), err)
		return 3
	}
	return 0
}

// serveStream is the helper's loop: handshake, then read a call, run it,
// write its reply, in order, one at a time. Replies are written in batches:
// when no further call is already buffered. It returns nil when the host
// closes the stream.
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
	for {
		if fe.buf.Len() > 0 && !rd.FrameBuffered() {
			if _, err := out.Write(fe.buf.Bytes()); err != nil {
				return fmt.Errorf("writing replies: %w", err)
			}
			fe.buf.Reset()
		}
		kind, body, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if kind&wire.FlagReset != 0 {
			dec = gob.NewDecoder(br)
		}
		if kind&^wire.FlagReset != wire.KindCall {
			return fmt.Errorf("%w: unexpected frame kind %#x", wire.ErrProtocol, kind)
		}
		c, rest, err := wire.ParseCall(body)
		if err != nil {
			return err
		}
		br.Reset(rest)
		rep, err := reg.serve(ctx, c, dec)
		if err != nil {
			return err
		}
		if br.Len() != 0 {
			return fmt.Errorf("%w: %d trailing bytes in call %d", wire.ErrProtocol, br.Len(), c.ID)
		}
		fe.addReply(reg, c.ID, rep)
	}
}
