package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame kinds. FlagReset may be or-ed into KindCall and KindReply,
// FlagResetPeer into KindCall.
const (
	KindHello byte = 1
	KindCall  byte = 2
	KindReply byte = 3
	// KindStarted (helper → host): the helper has taken the call whose id is
	// the body (a uvarint) and is about to decode its arguments and run it.
	// It is written together with every reply still buffered, before the
	// call starts, so that a helper that dies has told the host which calls
	// it finished and which one it was running. When the last of those is
	// a reply, the reply says it instead (Reply.Started).
	KindStarted byte = 4
	// KindCancel (host → helper): the ctx of a call ended (see Cancel).
	KindCancel byte = 5
	// FlagReset: this frame starts a new gob stream; the receiver makes a
	// new decoder before decoding it.
	FlagReset byte = 0x80
	// FlagResetPeer (on a call): the host has dropped its reply decoder's
	// state; the helper starts a new gob stream for its next reply.
	FlagResetPeer byte = 0x40
)

// LargeFrame is the body size above which a sender starts a new gob stream
// after the frame and a reader drops its buffer, so that one large argument
// or result does not keep its memory for the connection's lifetime.
const LargeFrame = 1 << 20

// HeaderSize is the size of a frame header: length (4) and kind (1).
const HeaderSize = 5

// DefaultMaxFrame is the default maximum frame body size (64 MiB).
const DefaultMaxFrame = 64 << 20

// ErrFrameTooLarge is wrapped by errors about frames over the size limit.
var ErrFrameTooLarge = errors.New("frame too large")

// ErrProtocol is wrapped by every error about malformed input.
var ErrProtocol = errors.New("protocol error")

// readChunk bounds how much is allocated ahead of data actually received, so
// that a lying length prefix does not allocate max bytes at once.
const readChunk = 1 << 20

// Reader reads frames. It is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	max int
	buf []byte
	off int64 // bytes of the whole frames returned so far
	h   [HeaderSize]byte
}

// NewReader returns a Reader of frames from r whose bodies are at most max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next reads the next frame and returns its kind and body. The body is valid
// until the next call. It returns io.EOF at a clean end of stream, and an
// error wrapping ErrProtocol (and ErrFrameTooLarge) for bad input.
func (r *Reader) Next() (kind byte, body []byte, err error) {
	h := r.h[:] // a field, not a local that would escape to the heap
	if _, err := io.ReadFull(r.br, h); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, fmt.Errorf("%w: truncated frame header: %w", ErrProtocol, err)
		}
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(h[:4]))
	kind = h[4]
	if n > r.max || n < 0 {
		return 0, nil, fmt.Errorf("%w: %w: %d bytes (limit %d)", ErrProtocol, ErrFrameTooLarge, n, r.max)
	}
	switch kind &^ (FlagReset | FlagResetPeer) {
	case KindHello, KindCall, KindReply, KindStarted, KindCancel:
	default:
		return 0, nil, fmt.Errorf("%w: unknown frame kind %#x", ErrProtocol, kind)
	}
	if cap(r.buf) > LargeFrame && n <= LargeFrame {
		r.buf = nil // the last frame was large: do not keep its memory
	}
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		step := min(n-len(r.buf), readChunk)
		if cap(r.buf)-len(r.buf) < step {
			nb := make([]byte, len(r.buf), len(r.buf)+step)
			copy(nb, r.buf)
			r.buf = nb
		}
		k, err := io.ReadFull(r.br, r.buf[len(r.buf):len(r.buf)+step])
		r.buf = r.buf[:len(r.buf)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, fmt.Errorf("%w: truncated frame body (%d of %d bytes): %w", ErrProtocol, len(r.buf), n, err)
		}
	}
	r.off += int64(HeaderSize + n)
	return kind, r.buf, nil
}

// Offset returns how many bytes of whole frames Next has returned.
func (r *Reader) Offset() int64 { return r.off }

// NextHello reads the first frame, which must be a hello: it checks the kind
// and the magic before the length, so that a program that is not a helper
// is reported as such rather than as a bad frame.
func (r *Reader) NextHello() ([]byte, error) {
	h, err := r.br.Peek(HeaderSize + len(Magic))
	if err != nil && len(h) == 0 {
		return nil, err
	}
	if len(h) < HeaderSize+len(Magic) || h[4] != KindHello || !bytes.Equal(h[HeaderSize:], Magic[:]) {
		return nil, fmt.Errorf("%w: not a gofutures process helper (bad magic %q)", ErrProtocol, h)
	}
	_, body, err := r.Next()
	return body, err
}

// FrameBuffered reports whether a whole frame is already buffered, so that
// Next will not block.
func (r *Reader) FrameBuffered() bool {
	b := r.br.Buffered()
	if b < HeaderSize {
		return false
	}
	h, err := r.br.Peek(HeaderSize)
	if err != nil {
		return false
	}
	return b-HeaderSize >= int(binary.BigEndian.Uint32(h[:4]))
}

// Begin starts a frame of the given kind at the end of b and returns its
// start, to pass to End once the body is written.
func Begin(b *bytes.Buffer, kind byte) int {
	start := b.Len()
	b.Write([]byte{0, 0, 0, 0, kind})
	return start
}

// End finishes the frame begun at start and returns its body size. The caller
// checks the size against the limit (and truncates b to start if it is over).
func End(b *bytes.Buffer, start int) int {
	n := b.Len() - start - HeaderSize
	binary.BigEndian.PutUint32(b.Bytes()[start:start+4], uint32(n))
	return n
}

// SetReset sets FlagReset on the frame begun at start.
func SetReset(b *bytes.Buffer, start int) { b.Bytes()[start+4] |= FlagReset }

// AppendStarted appends a started frame for call id to b.
func AppendStarted(b *bytes.Buffer, id uint64) {
	start := Begin(b, KindStarted)
	var v [binary.MaxVarintLen64]byte
	b.Write(v[:binary.PutUvarint(v[:], id)])
	End(b, start)
}

// ParseStarted parses the body of a started frame.
func ParseStarted(body []byte) (uint64, error) {
	id, n := binary.Uvarint(body)
	if n <= 0 || n != len(body) {
		return 0, fmt.Errorf("%w: bad started frame", ErrProtocol)
	}
	return id, nil
}

// SetMax changes the maximum body size for the frames read next.
func (r *Reader) SetMax(max int) { r.max = max }
