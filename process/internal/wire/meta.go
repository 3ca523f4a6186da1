package wire

import (
	"encoding/binary"
	"fmt"
)

// Bounds of the context metadata of a call (Call.Meta). A trace context
// (traceparent, tracestate, baggage) fits well within them.
const (
	MaxMetaEntries = 32      // entries
	MaxMetaKey     = 256     // bytes of a key
	MaxMetaValue   = 8 << 10 // bytes of a value
	MaxMetaSize    = 16 << 10
)

// AppendMeta appends the metadata md to b: a uvarint count, then each key
// and value as a uvarint length and its bytes, in map order. Entries over
// the bounds (an empty key, a key or value too long, more than
// MaxMetaEntries, more than MaxMetaSize bytes in all) are left out, so that
// what is sent always parses: metadata is advisory, and a sender never fails
// a call for it.
func AppendMeta(b []byte, md map[string]string) []byte {
	start := len(b)
	b = append(b, 0) // the count, fixed below (at most MaxMetaEntries < 128: one byte)
	n, size := 0, 0
	for k, v := range md {
		if n == MaxMetaEntries {
			break
		}
		if k == "" || len(k) > MaxMetaKey || len(v) > MaxMetaValue || size+len(k)+len(v) > MaxMetaSize {
			continue
		}
		size += len(k) + len(v)
		n++
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	b[start] = byte(n)
	return b
}

// ParseMeta parses metadata made by AppendMeta and returns it (nil for no
// entries) and the rest of b. Input over the bounds, a duplicate or empty key
// or a truncated entry is an error wrapping ErrProtocol.
func ParseMeta(b []byte) (md map[string]string, rest []byte, err error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > MaxMetaEntries {
		return nil, nil, fmt.Errorf("%w: bad metadata count", ErrProtocol)
	}
	b = b[n:]
	size := 0
	str := func(max int, what string) (string, error) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(max) || l > uint64(len(b)-n) {
			return "", fmt.Errorf("%w: bad metadata %s length", ErrProtocol, what)
		}
		s := string(b[n : n+int(l)])
		b = b[n+int(l):]
		size += len(s)
		return s, nil
	}
	for i := uint64(0); i < count; i++ {
		k, err := str(MaxMetaKey, "key")
		if err != nil {
			return nil, nil, err
		}
		v, err := str(MaxMetaValue, "value")
		if err != nil {
			return nil, nil, err
		}
		if k == "" || size > MaxMetaSize {
			return nil, nil, fmt.Errorf("%w: bad metadata entry %d (empty key or over %d bytes in all)", ErrProtocol, i, MaxMetaSize)
		}
		if md == nil {
			md = make(map[string]string, count)
		}
		if _, dup := md[k]; dup {
			return nil, nil, fmt.Errorf("%w: duplicate metadata key %q", ErrProtocol, k)
		}
		md[k] = v
	}
	return md, b, nil
}
