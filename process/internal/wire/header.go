package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// MaxNameLen bounds a function name on the wire.
const MaxNameLen = 1024

// MaxBatch bounds the calls of one call frame (Call.Count).
const MaxBatch = 1 << 16

// Call is the header of a call frame; the arguments (A, []A for a chunk, or
// []A of Count items for a batch) follow as one gob value.
type Call struct {
	ID    uint64
	Chunk bool
	// Count is how many calls the frame carries: 1, or a batch of up to
	// MaxBatch calls of the same function with the same ctx flags, whose
	// ids are ID, ID+1, ... ID+Count-1 and whose arguments are the items
	// of one []A (never a chunk). Each call of a batch is a call of its
	// own: its own started marker, reply and cancel. 0 is read as 1.
	Count int
	// Cancellable: the caller's ctx can end, and a cancel frame may follow.
	Cancellable bool
	// Deadline is the caller's deadline in Unix nanoseconds, 0 if none.
	Deadline int64
	// Meta is the context metadata of the caller's ctx (a trace context:
	// driver.Carrier), nil if none; see AppendMeta for its bounds.
	Meta map[string]string
	Name string
}

const (
	callChunk       = 1 << iota // Chunk
	callCancellable             // Cancellable
	callDeadline                // a varint deadline follows the flags
	callMeta                    // metadata (AppendMeta) follows the deadline
	callBatch                   // a uvarint Count (2 or more) follows the flags
	callFlags       = callChunk | callCancellable | callDeadline | callMeta | callBatch
)

// AppendCall appends the header of c to b.
func AppendCall(b []byte, c Call) []byte {
	b = binary.AppendUvarint(b, c.ID)
	var flags byte
	if c.Chunk {
		flags |= callChunk
	}
	if c.Cancellable {
		flags |= callCancellable
	}
	if c.Deadline != 0 {
		flags |= callDeadline
	}
	if len(c.Meta) != 0 {
		flags |= callMeta
	}
	if c.Count > 1 {
		flags |= callBatch
	}
	b = append(b, flags)
	if c.Count > 1 {
		b = binary.AppendUvarint(b, uint64(c.Count))
	}
	if c.Deadline != 0 {
		b = binary.AppendVarint(b, c.Deadline)
	}
	if len(c.Meta) != 0 {
		b = AppendMeta(b, c.Meta)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Name)))
	return append(b, c.Name...)
}

// ParseCall parses a call header and returns it and the rest of the body.
func ParseCall(b []byte) (c Call, rest []byte, err error) {
	id, n := binary.Uvarint(b)
	if n <= 0 {
		return c, nil, fmt.Errorf("%w: bad call id", ErrProtocol)
	}
	b = b[n:]
	if len(b) < 1 || b[0]&^callFlags != 0 {
		return c, nil, fmt.Errorf("%w: bad call flags", ErrProtocol)
	}
	flags := b[0]
	c.ID, c.Chunk, c.Cancellable, c.Count = id, flags&callChunk != 0, flags&callCancellable != 0, 1
	b = b[1:]
	if flags&callBatch != 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n < 2 || n > MaxBatch || c.Chunk || id+n-1 < id {
			return c, nil, fmt.Errorf("%w: bad call batch", ErrProtocol)
		}
		c.Count, b = int(n), b[k:]
	}
	if flags&callDeadline != 0 {
		d, n := binary.Varint(b)
		if n <= 0 || d == 0 {
			return c, nil, fmt.Errorf("%w: bad call deadline", ErrProtocol)
		}
		c.Deadline, b = d, b[n:]
	}
	if flags&callMeta != 0 {
		var err error
		if c.Meta, b, err = ParseMeta(b); err != nil {
			return c, nil, err
		}
	}
	l, n := binary.Uvarint(b)
	if n <= 0 || l > MaxNameLen || l > uint64(len(b)-n) {
		return c, nil, fmt.Errorf("%w: bad function name length", ErrProtocol)
	}
	b = b[n:]
	c.Name = string(b[:l])
	return c, b[l:], nil
}

// Cancel is the body of a cancel frame (host → helper): the ctx of call ID
// ended, because it was cancelled or (Deadline) its deadline passed.
type Cancel struct {
	ID       uint64
	Deadline bool
}

// AppendCancel appends a cancel frame to b.
func AppendCancel(b []byte, c Cancel) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, KindCancel)
	b = binary.AppendUvarint(b, c.ID)
	var d byte
	if c.Deadline {
		d = 1
	}
	b = append(b, d)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-HeaderSize))
	return b
}

// ParseCancel parses the body of a cancel frame.
func ParseCancel(body []byte) (Cancel, error) {
	id, n := binary.Uvarint(body)
	if n <= 0 || len(body) != n+1 || body[n] > 1 {
		return Cancel{}, fmt.Errorf("%w: bad cancel frame", ErrProtocol)
	}
	return Cancel{ID: id, Deadline: body[n] == 1}, nil
}

// Reply statuses.
const (
	// StatusOK: the result value follows.
	StatusOK byte = 0
	// StatusErr: the whole call failed; an ErrorInfo follows, no value.
	StatusErr byte = 1
	// StatusItemErrs: a chunk with failed items; []ErrorInfo (one per
	// item, zero for success) follows, then the result value.
	StatusItemErrs byte = 2
	// StatusSkipped: the call was not run and nothing follows. A helper
	// whose argument decoder failed skips every call until a frame with
	// FlagReset; the host sends those calls again.
	StatusSkipped byte = 3
	// StatusNotRun: the call was not run because its ctx ended before it
	// started (a cancel frame came first); nothing follows.
	StatusNotRun byte = 4
	// StatusRaw: StatusOK, with the value in its raw encoding instead of
	// gob (see AppendRaw), for a value of a predeclared type.
	StatusRaw byte = 5
)

// Reply is the header of a reply frame.
type Reply struct {
	ID     uint64
	Status byte
	// Started: the helper has taken call Next and is about to run it, as a
	// started frame would say (see KindStarted). A helper that starts a
	// call while the reply before it is still buffered says so in the
	// reply, which saves a frame per call.
	Started bool
	Next    uint64
}

// replyStarted, or-ed into the status byte: a uvarint Next follows it.
const replyStarted = 0x80

// AppendReply appends the header of r to b.
func AppendReply(b []byte, r Reply) []byte {
	b = binary.AppendUvarint(b, r.ID)
	if !r.Started {
		return append(b, r.Status)
	}
	b = append(b, r.Status|replyStarted)
	return binary.AppendUvarint(b, r.Next)
}

// ParseReply parses a reply header and returns it and the rest of the body.
func ParseReply(b []byte) (r Reply, rest []byte, err error) {
	id, n := binary.Uvarint(b)
	if n <= 0 || len(b) < n+1 {
		return r, nil, fmt.Errorf("%w: bad reply header", ErrProtocol)
	}
	r.ID, r.Status, r.Started = id, b[n]&^replyStarted, b[n]&replyStarted != 0
	if r.Status > StatusRaw {
		return r, nil, fmt.Errorf("%w: bad reply status %d", ErrProtocol, r.Status)
	}
	b = b[n+1:]
	if r.Started {
		next, k := binary.Uvarint(b)
		if k <= 0 {
			return r, nil, fmt.Errorf("%w: bad started call in reply", ErrProtocol)
		}
		r.Next, b = next, b[k:]
	}
	return r, b, nil
}

// MarkStarted makes the reply frame that begins at start in b, the last
// frame of b, also say that call next started (Reply.Started), and
// reports whether it did: not if that frame is not a reply, or says so
// already.
func MarkStarted(b *bytes.Buffer, start int, next uint64) bool {
	f := b.Bytes()
	if start < 0 || len(f)-start < HeaderSize+2 || f[start+4]&^(FlagReset|FlagResetPeer) != KindReply {
		return false
	}
	_, n := binary.Uvarint(f[start+HeaderSize:])
	at := start + HeaderSize + n // the status byte
	if n <= 0 || at >= len(f) || f[at]&replyStarted != 0 {
		return false
	}
	var v [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(v[:], next)
	end := len(f)
	b.Write(v[:k])
	f = b.Bytes()
	copy(f[at+1+k:], f[at+1:end])
	copy(f[at+1:], v[:k])
	f[at] |= replyStarted
	binary.BigEndian.PutUint32(f[start:], uint32(len(f)-start-HeaderSize))
	return true
}

// ErrorInfo is an error that crossed the boundary. The zero value means "no
// error" (in the per-item list of a chunk).
type ErrorInfo struct {
	Type     string // the error's Go type, as %T prints it
	Message  string // err.Error(), or the panic value for a panic
	Stack    string // the helper's stack
	Sentinel string // the name of the registered sentinel it matches, if any
	Panic    bool   // the task panicked
	// Temporary and Timeout: the error said so (a Temporary() or Timeout()
	// method returning true in its chain), so that a retry policy in the
	// host can tell a transient failure. Older peers omit them (gob).
	Temporary bool
	Timeout   bool
}

// IsZero reports whether e means "no error".
func (e ErrorInfo) IsZero() bool { return e.Type == "" && e.Message == "" && !e.Panic }
