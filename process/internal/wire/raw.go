package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A reply of status StatusRaw carries its value without gob, as the whole
// rest of the frame's body, when the value is of one of the predeclared
// types below (not a named type, which may have its own GobEncode): a gob
// message costs more to encode and decode than a small task takes to run,
// and these types need no type information. Signed integers are zig-zag
// varints, unsigned ones uvarints, floats their IEEE 754 bits
// (little-endian), a bool one byte, a string or a []byte its bytes.

// AppendRaw appends the raw encoding of v to b, and reports whether v is of
// a type that has one (if not, b is returned as it is).
func AppendRaw(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case int:
		return binary.AppendVarint(b, int64(v)), true
	case int64:
		return binary.AppendVarint(b, v), true
	case int32:
		return binary.AppendVarint(b, int64(v)), true
	case int16:
		return binary.AppendVarint(b, int64(v)), true
	case int8:
		return binary.AppendVarint(b, int64(v)), true
	case uint:
		return binary.AppendUvarint(b, uint64(v)), true
	case uint64:
		return binary.AppendUvarint(b, v), true
	case uint32:
		return binary.AppendUvarint(b, uint64(v)), true
	case uint16:
		return binary.AppendUvarint(b, uint64(v)), true
	case uint8:
		return binary.AppendUvarint(b, uint64(v)), true
	case float64:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v)), true
	case float32:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(v)), true
	case bool:
		if v {
			return append(b, 1), true
		}
		return append(b, 0), true
	case string:
		return append(b, v...), true
	case []byte:
		return append(b, v...), true
	}
	return b, false
}

// ParseRaw decodes the raw encoding b (all of it) into p, a pointer to one
// of the types AppendRaw encodes; with p nil, the value is dropped. It
// fails if p is of another type, or if b is not exactly one value of p's
// type.
func ParseRaw(b []byte, p any) error {
	switch p := p.(type) {
	case nil:
		return nil
	case *int:
		return setInt(b, p, math.MinInt, math.MaxInt)
	case *int64:
		return setInt(b, p, math.MinInt64, math.MaxInt64)
	case *int32:
		return setInt(b, p, math.MinInt32, math.MaxInt32)
	case *int16:
		return setInt(b, p, math.MinInt16, math.MaxInt16)
	case *int8:
		return setInt(b, p, math.MinInt8, math.MaxInt8)
	case *uint:
		return setUint(b, p, math.MaxUint)
	case *uint64:
		return setUint(b, p, math.MaxUint64)
	case *uint32:
		return setUint(b, p, math.MaxUint32)
	case *uint16:
		return setUint(b, p, math.MaxUint16)
	case *uint8:
		return setUint(b, p, math.MaxUint8)
	case *float64:
		if len(b) != 8 {
			return rawError(b, "float64")
		}
		*p = math.Float64frombits(binary.LittleEndian.Uint64(b))
		return nil
	case *float32:
		if len(b) != 4 {
			return rawError(b, "float32")
		}
		*p = math.Float32frombits(binary.LittleEndian.Uint32(b))
		return nil
	case *bool:
		if len(b) != 1 || b[0] > 1 {
			return rawError(b, "bool")
		}
		*p = b[0] == 1
		return nil
	case *string:
		*p = string(b)
		return nil
	case *[]byte:
		*p = append([]byte(nil), b...)
		return nil
	}
	return fmt.Errorf("%w: raw value for a %T", ErrProtocol, p)
}

// setInt sets *p to the zig-zag varint b, which must be all of b and
// within [lo, hi].
func setInt[T int | int8 | int16 | int32 | int64](b []byte, p *T, lo, hi int64) error {
	v, n := binary.Varint(b)
	if n <= 0 || n != len(b) || v < lo || v > hi {
		return rawError(b, "signed integer")
	}
	*p = T(v)
	return nil
}

// setUint sets *p to the uvarint b, which must be all of b and at most hi.
func setUint[T uint | uint8 | uint16 | uint32 | uint64](b []byte, p *T, hi uint64) error {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != len(b) || v > hi {
		return rawError(b, "unsigned integer")
	}
	*p = T(v)
	return nil
}

func rawError(b []byte, what string) error {
	return fmt.Errorf("%w: %d bytes are not a raw %s", ErrProtocol, len(b), what)
}
