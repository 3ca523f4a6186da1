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
		v, err := rawInt(b, math.MinInt, math.MaxInt)
		*p = int(v)
		return err
	case *int64:
		v, err := rawInt(b, math.MinInt64, math.MaxInt64)
		*p = v
		return err
	case *int32:
		v, err := rawInt(b, math.MinInt32, math.MaxInt32)
		*p = int32(v)
		return err
	case *int16:
		v, err := rawInt(b, math.MinInt16, math.MaxInt16)
		*p = int16(v)
		return err
	case *int8:
		v, err := rawInt(b, math.MinInt8, math.MaxInt8)
		*p = int8(v)
		return err
	case *uint:
		v, err := rawUint(b, math.MaxUint)
		*p = uint(v)
		return err
	case *uint64:
		v, err := rawUint(b, math.MaxUint64)
		*p = v
		return err
	case *uint32:
		v, err := rawUint(b, math.MaxUint32)
		*p = uint32(v)
		return err
	case *uint16:
		v, err := rawUint(b, math.MaxUint16)
		*p = uint16(v)
		return err
	case *uint8:
		v, err := rawUint(b, math.MaxUint8)
		*p = uint8(v)
		return err
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

func rawInt(b []byte, lo, hi int64) (int64, error) {
	v, n := binary.Varint(b)
	if n <= 0 || n != len(b) || v < lo || v > hi {
		return 0, rawError(b, "signed integer")
	}
	return v, nil
}

func rawUint(b []byte, hi uint64) (uint64, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != len(b) || v > hi {
		return 0, rawError(b, "unsigned integer")
	}
	return v, nil
}

func rawError(b []byte, what string) error {
	return fmt.Errorf("%w: %d bytes are not a raw %s", ErrProtocol, len(b), what)
}
