package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"time"
)

// Version is the protocol version. Bump it on any change to the frames, the
// hello, the headers or ErrorInfo.
const Version = 3

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

// AppendHello appends a hello frame to b.
func AppendHello(b *bytes.Buffer, h Hello) error {
	start := Begin(b, KindHello)
	b.Write(Magic[:])
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], Version)
	b.Write(v[:])
	if err := gob.NewEncoder(b).Encode(&h); err != nil {
		b.Truncate(start)
		return err
	}
	End(b, start)
	return nil
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
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: bad hello: %v", ErrProtocol, v)
		}
	}()
	r := bytes.NewReader(body[len(Magic)+4:])
	if err := gob.NewDecoder(r).Decode(&h); err != nil {
		return h, fmt.Errorf("%w: bad hello: %w", ErrProtocol, err)
	}
	if r.Len() != 0 {
		return h, fmt.Errorf("%w: %d trailing bytes after hello", ErrProtocol, r.Len())
	}
	if h.Pid <= 0 {
		return h, fmt.Errorf("%w: bad pid %d in hello", ErrProtocol, h.Pid)
	}
	return h, nil
}
