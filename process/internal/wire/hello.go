package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Version is the protocol version. Bump it on any change to the frames, the
// hello, the headers or ErrorInfo.
//
// 4: the hello is binary (AppendHello), not gob.
// 5: a call frame may carry a batch of calls (Call.Count).
const Version = 6

// Magic opens every hello body, so that a foreign program on the other end is
// recognised before anything else is parsed.
var Magic = [8]byte{'g', 'o', 'f', 'u', 't', 'P', 'R', 'C'}

// Hello is the first frame each way. The helper sends its pid and its
// registry; the host sends its limits.
type Hello struct {
	Pid      int
	Funcs    []FuncSig // helper → host: the helper's registry, sorted by name
	MaxFrame int       // host → helper: the maximum frame body size
	// TaskTimeout (host → helper) is the deadline of a call whose caller
	// set none, counted from when it starts; 0: none.
	TaskTimeout time.Duration
}

// FuncSig describes one registered function.
type FuncSig struct {
	Name, Arg, Result string
}

// VersionError is returned by ParseHello when the other side speaks another
// protocol version.
type VersionError struct{ Got, Want uint32 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("protocol version %d, want %d", e.Got, e.Want)
}

// AppendHello appends a hello frame to b. Its body is the magic, the
// version, then varints (pid, max frame, task timeout in nanoseconds, the
// number of functions) and, for each function, its name, argument and result
// type as uvarint-prefixed strings: no gob, so that neither side compiles a
// gob type before its first call.
func AppendHello(b *bytes.Buffer, h Hello) {
	start := Begin(b, KindHello)
	b.Write(Magic[:])
	var v []byte
	v = binary.BigEndian.AppendUint32(v, Version)
	v = binary.AppendVarint(v, int64(h.Pid))
	v = binary.AppendVarint(v, int64(h.MaxFrame))
	v = binary.AppendVarint(v, int64(h.TaskTimeout))
	v = binary.AppendUvarint(v, uint64(len(h.Funcs)))
	b.Write(v)
	for _, f := range h.Funcs {
		for _, s := range [...]string{f.Name, f.Arg, f.Result} {
			b.Write(binary.AppendUvarint(v[:0], uint64(len(s))))
			b.WriteString(s)
		}
	}
	End(b, start)
}

// ParseHello parses the body of a hello frame: the magic, the version (a
// *VersionError if it differs) and then the hello itself.
func ParseHello(body []byte) (h Hello, err error) {
	if len(body) < len(Magic)+4 || !bytes.Equal(body[:len(Magic)], Magic[:]) {
		return h, fmt.Errorf("%w: not a gofutures process helper (bad magic)", ErrProtocol)
	}
	if v := binary.BigEndian.Uint32(body[len(Magic):]); v != Version {
		return h, &VersionError{Got: v, Want: Version}
	}
	b := body[len(Magic)+4:]
	bad := func(what string) (Hello, error) {
		return Hello{}, fmt.Errorf("%w: bad hello: %s", ErrProtocol, what)
	}
	var ints [3]int64
	for i := range ints {
		x, n := binary.Varint(b)
		if n <= 0 || x < 0 || x > math.MaxInt64>>1 {
			return bad("bad number")
		}
		ints[i], b = x, b[n:]
	}
	h.Pid, h.MaxFrame, h.TaskTimeout = int(ints[0]), int(ints[1]), time.Duration(ints[2])
	nf, n := binary.Uvarint(b)
	if n <= 0 || nf > uint64(len(b)-n)/3 { // a function takes 3 bytes at least
		return bad("bad number of functions")
	}
	b = b[n:]
	if nf > 0 {
		h.Funcs = make([]FuncSig, nf)
	}
	for i := range h.Funcs {
		var s [3]string
		for k := range s {
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return bad("bad string")
			}
			s[k], b = string(b[n:n+int(l)]), b[n+int(l):]
		}
		h.Funcs[i] = FuncSig{Name: s[0], Arg: s[1], Result: s[2]}
	}
	if len(b) != 0 {
		return h, fmt.Errorf("%w: %d trailing bytes after hello", ErrProtocol, len(b))
	}
	if h.Pid <= 0 {
		return h, fmt.Errorf("%w: bad pid %d in hello", ErrProtocol, h.Pid)
	}
	return h, nil
}
