package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"reflect"

	"github.com/gofutures/gofutures/executor/driver"
	"github.com/gofutures/gofutures/process/internal/wire"
)

// This file holds the encoding of one call and one reply, shared by the
// stream protocol of Executor and its helpers and by the single-message
// codec (internal/remotecall) that package cluster uses.

// reply is the outcome of one call in the helper.
type reply struct {
	status byte
	err    wire.ErrorInfo   // StatusErr
	items  []wire.ErrorInfo // StatusItemErrs
	value  any              // R or []R (StatusOK, StatusItemErrs)
}

// serve decodes the arguments of call c from dec, which reads from br, runs
// the function and returns the reply. ok is false if the arguments could not
// be decoded whole (an error, a panic in a decoding method, bytes left over):
// then the function did not run, the reply says why (ErrEncode, or
// ErrNotRegistered for an unknown function), and dec's stream is in an
// unknown state, so the caller must not decode from it again. With skip, it
// decodes the arguments (to keep the stream in step) but does not run the
// function, and the reply is StatusNotRun.
func (reg *Registry) serve(ctx context.Context, c wire.Call, dec decoder, br *bytes.Reader, skip bool) (rep reply, ok bool) {
	e := reg.lookup(c.Name)
	if e == nil {
		err := decodeSafely(func() error { return dec.Decode(nil) }) // skip the value, keep its types
		return reg.errReply(fmt.Errorf("%w: %q is not registered in the helper", ErrNotRegistered, c.Name)), err == nil && br.Len() == 0
	}
	var args any
	err := decodeSafely(func() (err error) {
		args, err = e.decodeArgs(dec, c.Chunk)
		return err
	})
	if err == nil && br.Len() != 0 {
		err = fmt.Errorf("%d bytes left over", br.Len())
	}
	if err != nil {
		return reg.errReply(fmt.Errorf("%w: decoding arguments of %q: %w", ErrEncode, c.Name, err)), false
	}
	if skip {
		return reply{status: wire.StatusNotRun}, true
	}
	res, err, items := e.run(ctx, args, c.Chunk)
	return reg.replyOf(res, err, items), true
}

// replyOf is the reply of a call that ran and returned res and err (and,
// for a chunk, items: one error per item, nil if all succeeded).
func (reg *Registry) replyOf(res any, err error, items []error) reply {
	if err != nil {
		return reg.errReply(err)
	}
	rep := reply{status: wire.StatusOK, value: res}
	if items != nil {
		rep.status = wire.StatusItemErrs
		rep.items = make([]wire.ErrorInfo, len(items))
		for i, e := range items {
			if e != nil {
				rep.items[i] = reg.infoOf(e)
			}
		}
	}
	return rep
}

// decodeSafely runs decode, turning a panic (in a GobDecode or
// UnmarshalBinary method, or in gob itself on hostile input) into an error.
func decodeSafely(decode func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic while decoding: %v", v)
		}
	}()
	return decode()
}

func (reg *Registry) errReply(err error) reply {
	return reply{status: wire.StatusErr, err: reg.infoOf(err)}
}

// frameEncoder appends frames to buf with one persistent gob stream. After an
// encoding error, or a frame over wire.LargeFrame, it starts a new stream,
// flagged on the next frame so that the reader starts a new decoder too.
type frameEncoder struct {
	buf   bytes.Buffer
	enc   *gob.Encoder
	reset bool // flag the next frame with wire.FlagReset
	peer  bool // flag the next frame with wire.FlagResetPeer
	big   bool // a large frame was encoded: start a new stream after the flush
	max   int
	hdr   []byte
	last  int  // where the last frame in buf begins, if it is a reply; else -1
	raw   bool // results of predeclared types go raw (wire.StatusRaw), not gob
}

// maxMark bounds the bytes of a buffered reply that addStarted moves to
// mark it (wire.MarkStarted); after a larger one it adds a started frame.
const maxMark = 4 << 10

func newFrameEncoder(max int) *frameEncoder {
	f := &frameEncoder{max: max, last: -1}
	f.enc = gob.NewEncoder(&f.buf)
	return f
}

// newStream drops the gob stream (and the memory its encoder holds); the
// next frame is flagged with wire.FlagReset.
func (f *frameEncoder) newStream() {
	f.enc = gob.NewEncoder(&f.buf)
	f.reset = true
}

// add appends a frame of kind with the binary header hdr and the gob values
// v1 and v2 (either may be nil). On error nothing is appended.
func (f *frameEncoder) add(kind byte, hdr []byte, v1, v2 any) error {
	start := wire.Begin(&f.buf, kind)
	f.buf.Write(hdr)
	err := f.encode(v1)
	if err == nil {
		err = f.encode(v2)
	}
	return f.end(kind, start, err)
}

// addRaw appends the reply frame of call id with result v in its raw
// encoding (wire.StatusRaw), and reports whether v has one. On error (a
// frame over the limit) nothing is appended.
func (f *frameEncoder) addRaw(id uint64, v any) (bool, error) {
	start := wire.Begin(&f.buf, wire.KindReply)
	f.buf.Write(wire.AppendReply(f.buf.AvailableBuffer(), wire.Reply{ID: id, Status: wire.StatusRaw}))
	b, ok := wire.AppendRaw(f.buf.AvailableBuffer(), v)
	if !ok {
		f.buf.Truncate(start)
		return false, nil
	}
	f.buf.Write(b)
	return true, f.end(wire.KindReply, start, nil)
}

// end completes the frame of kind that begins at start: on err, or if the
// frame is over the limit, it is removed and the gob stream starts anew.
func (f *frameEncoder) end(kind byte, start int, err error) error {
	n := wire.End(&f.buf, start)
	if err == nil && n > f.max {
		err = fmt.Errorf("%w: %d bytes (limit %d)", ErrFrameTooLarge, n, f.max)
	}
	f.last = -1
	if err != nil {
		f.buf.Truncate(start)
		f.newStream()
		return err
	}
	if kind == wire.KindReply {
		f.last = start
	}
	if f.reset {
		wire.SetReset(&f.buf, start)
		f.reset = false
	}
	if f.peer {
		f.buf.Bytes()[start+4] |= wire.FlagResetPeer
		f.peer = false
	}
	if n > wire.LargeFrame {
		f.big = true
	}
	return nil
}

// flush writes the frames appended so far to w (if any) and empties the
// buffer. A buffer grown past wire.LargeFrame (by a large frame, or by one
// rejected as too large) is let go, and so is the stream after a large frame.
func (f *frameEncoder) flush(w io.Writer) error {
	var err error
	if f.buf.Len() > 0 {
		_, err = w.Write(f.buf.Bytes())
	}
	f.buf.Reset()
	f.last = -1
	if f.buf.Cap() > wire.LargeFrame {
		f.buf = bytes.Buffer{}
	}
	if f.big {
		f.big = false
		f.newStream()
	}
	return err
}

func (f *frameEncoder) encode(v any) (err error) {
	if v == nil {
		return nil
	}
	defer func() { // a GobEncoder or MarshalBinary method may panic
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: panic while encoding %T: %v", ErrEncode, v, p)
		}
	}()
	if err := f.enc.Encode(v); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrEncode, v, err)
	}
	return nil
}

// callHeader is the header of the call frame of a task whose submit ctx
// is ctx (nil if it cannot end): the helper is told whether a cancel may
// follow, the deadline, and the context metadata of a driver.Carrier.
func callHeader(id uint64, r driver.Remote, ctx context.Context) wire.Call {
	c := wire.Call{ID: id, Chunk: r.Chunk(), Name: r.FuncName(), Cancellable: ctx != nil}
	if cr, ok := r.(driver.Carrier); ok {
		c.Meta = cr.ContextMetadata()
	}
	if ctx != nil {
		if d, ok := ctx.Deadline(); ok {
			c.Deadline = d.UnixNano()
		}
	}
	return c
}

// addCall appends the call frame of call id of r, with arguments args
// (r.Args()) and submit ctx ctx (see callHeader).
func (f *frameEncoder) addCall(id uint64, r driver.Remote, args any, ctx context.Context) error {
	f.hdr = wire.AppendCall(f.hdr[:0], callHeader(id, r, ctx))
	return f.add(wire.KindCall, f.hdr, args, nil)
}

// addBatch appends one call frame for jobs (see batchLen), calls of the
// function e, whose arguments are encoded as one []A.
func (f *frameEncoder) addBatch(e entry, jobs []*job) error {
	if e == nil {
		return fmt.Errorf("%w: %q", ErrNotRegistered, jobs[0].r.FuncName())
	}
	c := callHeader(jobs[0].id, jobs[0].r, jobs[0].ctx)
	c.Count = len(jobs)
	f.hdr = wire.AppendCall(f.hdr[:0], c)
	return f.add(wire.KindCall, f.hdr, e.batchArgs(jobs), nil)
}

// sameCtx reports whether a and b are the same ctx. A Context of a type
// that == cannot compare (a struct value holding a slice) is never the same.
func sameCtx(a, b context.Context) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// batchLen returns how many jobs at the start of jobs can go in one call
// frame: calls of one function that may share a frame (batchable), with
// consecutive ids and the same submit ctx, up to wire.MaxBatch.
func batchLen(jobs []*job) int {
	j0 := jobs[0]
	if !batchable(j0) {
		return 1
	}
	name := j0.r.FuncName()
	n := 1
	for n < len(jobs) && n < wire.MaxBatch {
		j := jobs[n]
		if !batchable(j) || j.id != j0.id+uint64(n) || j.r.FuncName() != name || !sameCtx(j.ctx, j0.ctx) {
			break
		}
		n++
	}
	return n
}

// batchable reports whether j may share a frame with other calls: not a
// chunk, no context metadata (a driver.Carrier's differs per call), and
// not sent back by a helper that skipped it (job.solo: it goes alone).
func batchable(j *job) bool {
	if j.solo || j.r.Chunk() {
		return false
	}
	_, carrier := j.r.(driver.Carrier)
	return !carrier
}

// addStarted appends the started marker of call id: in the reply before
// it, if that is the last frame buffered and small, else as a frame.
func (f *frameEncoder) addStarted(id uint64) {
	if f.last >= 0 && f.buf.Len()-f.last <= maxMark && wire.MarkStarted(&f.buf, f.last, id) {
		f.last = -1
		return
	}
	wire.AppendStarted(&f.buf, id)
	f.last = -1
}

// addNotRun appends the reply of call id that was not run, with status
// wire.StatusSkipped or wire.StatusNotRun.
func (f *frameEncoder) addNotRun(id uint64, status byte) {
	start := wire.Begin(&f.buf, wire.KindReply)
	f.buf.Write(wire.AppendReply(f.hdr[:0], wire.Reply{ID: id, Status: status}))
	wire.End(&f.buf, start)
	f.last = start
}

// addReply appends the reply frame of call id. If the result cannot be
// encoded (or is too large), the reply says so instead.
func (f *frameEncoder) addReply(reg *Registry, id uint64, rep reply) {
	f.hdr = wire.AppendReply(f.hdr[:0], wire.Reply{ID: id, Status: rep.status})
	var err error
	switch rep.status {
	case wire.StatusNotRun:
		f.addNotRun(id, rep.status)
		return
	case wire.StatusOK:
		var raw bool
		if f.raw {
			raw, err = f.addRaw(id, rep.value)
		}
		if !raw {
			err = f.add(wire.KindReply, f.hdr, rep.value, nil)
		}
	case wire.StatusItemErrs:
		err = f.add(wire.KindReply, f.hdr, rep.items, rep.value)
	default:
		info := rep.err // a copy on the heap in this case only, not rep in all
		err = f.add(wire.KindReply, f.hdr, &info, nil)
	}
	if err == nil {
		return
	}
	info := reg.errReply(fmt.Errorf("result of call: %w", err)).err
	f.hdr = wire.AppendReply(f.hdr[:0], wire.Reply{ID: id, Status: wire.StatusErr})
	if f.add(wire.KindReply, f.hdr, &info, nil) != nil {
		// Only a frame limit below a few hundred bytes gets here.
		info.Stack = ""
		_ = f.add(wire.KindReply, f.hdr, &info, nil)
	}
}

// decodeReply decodes rest, the rest of a reply frame after its header
// rep, into r.Result() and returns the task's error and per-item errors;
// gob values are decoded by dec, which reads from br. A result that cannot
// be decoded (a value gob refuses, an unregistered concrete type in an
// interface, a decoding method that fails or panics) is the task's error,
// wrapping ErrEncode, and inSync is false: dec's stream may have lost type
// definitions. perr is a protocol error: the reply is malformed (bytes
// left over included) and the sender must not be trusted any more.
func (reg *Registry) decodeReply(rep wire.Reply, rest []byte, dec decoder, br *bytes.Reader, r driver.Remote) (err error, items []error, inSync bool, perr error) {
	if rep.Status == wire.StatusRaw {
		if e := wire.ParseRaw(rest, r.Result()); e != nil {
			return nil, nil, true, fmt.Errorf("result of %q: %w", r.FuncName(), e)
		}
		return nil, nil, true, nil
	}
	br.Reset(rest)
	err, items, inSync, perr = reg.decodeGobReply(rep, dec, r)
	if perr == nil && inSync && br.Len() != 0 {
		perr = fmt.Errorf("%w: %d trailing bytes in reply %d", wire.ErrProtocol, br.Len(), rep.ID)
	}
	return err, items, inSync, perr
}

// decodeGobReply is decodeReply of a reply whose values are gob.
func (reg *Registry) decodeGobReply(rep wire.Reply, dec decoder, r driver.Remote) (err error, items []error, inSync bool, perr error) {
	result := func() error {
		e := decodeSafely(func() error { return dec.Decode(r.Result()) })
		if e != nil {
			return fmt.Errorf("%w: decoding the result of %q: %w", ErrEncode, r.FuncName(), e)
		}
		return nil
	}
	switch rep.Status {
	case wire.StatusOK:
		if e := result(); e != nil {
			return e, nil, false, nil
		}
		return nil, nil, true, nil
	case wire.StatusErr:
		var info wire.ErrorInfo
		if e := decodeSafely(func() error { return dec.Decode(&info) }); e != nil || info.IsZero() {
			return nil, nil, false, fmt.Errorf("%w: decoding error of %q: %v", wire.ErrProtocol, r.FuncName(), e)
		}
		return reg.errorOf(info), nil, true, nil
	case wire.StatusItemErrs:
		var infos []wire.ErrorInfo
		if e := decodeSafely(func() error { return dec.Decode(&infos) }); e != nil || !r.Chunk() {
			return nil, nil, false, fmt.Errorf("%w: decoding item errors of %q: %v", wire.ErrProtocol, r.FuncName(), e)
		}
		if e := result(); e != nil {
			return e, nil, false, nil
		}
		if n := reflect.ValueOf(r.Result()).Elem().Len(); n != len(infos) {
			return nil, nil, false, fmt.Errorf("%w: %d item errors for %d results", wire.ErrProtocol, len(infos), n)
		}
		items = make([]error, len(infos))
		for i, info := range infos {
			items[i] = reg.errorOf(info)
		}
		return nil, items, true, nil
	default:
		return nil, nil, false, fmt.Errorf("%w: reply status %d for a call that ran", wire.ErrProtocol, rep.Status)
	}
}

// encodeCall is the Codec.EncodeCall of every Registry (see
// internal/remotecall).
func encodeCall(r driver.Remote) ([]byte, error) {
	var b bytes.Buffer
	b.Write(wire.AppendCall(nil, wire.Call{Chunk: r.Chunk(), Name: r.FuncName()}))
	if err := gob.NewEncoder(&b).Encode(r.Args()); err != nil {
		return nil, fmt.Errorf("%w: arguments of %q: %w", ErrEncode, r.FuncName(), err)
	}
	return b.Bytes(), nil
}

// serveCallMsg is the Codec.ServeCall of reg: it runs one call message
// against reg, in the calling goroutine.
func (reg *Registry) serveCallMsg(ctx context.Context, call []byte) ([]byte, error) {
	c, rest, err := wire.ParseCall(call)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(rest)
	rep, _ := reg.serve(ctx, c, gob.NewDecoder(r), r, false) // one message: no stream to keep
	f := newFrameEncoder(int(^uint(0) >> 1))
	f.addReply(reg, 0, rep)
	return f.buf.Bytes()[wire.HeaderSize:], nil
}

// decodeReplyMsg is the Codec.DecodeReply of reg: it decodes a reply
// message into r.Result() and completes r.
func (reg *Registry) decodeReplyMsg(reply []byte, r driver.Remote) error {
	rep, rest, err := wire.ParseReply(reply)
	if err != nil {
		return err
	}
	br := new(bytes.Reader)
	taskErr, items, _, perr := reg.decodeReply(rep, rest, gob.NewDecoder(br), br, r)
	if perr != nil {
		return perr
	}
	r.Finish(taskErr, items)
	return nil
}
