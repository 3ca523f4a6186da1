package wire

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestCallMeta(t *testing.T) {
	md := map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "", "baggage": "k=v"}
	b := AppendCall(nil, Call{ID: 9, Cancellable: true, Deadline: 77, Meta: md, Name: "f"})
	b = append(b, "args"...)
	c, rest, err := ParseCall(b)
	if err != nil || c.ID != 9 || !c.Cancellable || c.Deadline != 77 || c.Name != "f" || string(rest) != "args" {
		t.Fatalf("call = %+v %q %v", c, rest, err)
	}
	if !maps.Equal(c.Meta, md) {
		t.Fatalf("meta = %v, want %v", c.Meta, md)
	}
	// Without metadata the frame is the one of version 2: no flag, no bytes.
	if got, want := AppendCall(nil, Call{ID: 9, Name: "f", Meta: map[string]string{}}), AppendCall(nil, Call{ID: 9, Name: "f"}); string(got) != string(want) {
		t.Fatalf("empty metadata changed the frame: %x, want %x", got, want)
	}
}

func TestMetaBounds(t *testing.T) {
	big := map[string]string{"": "empty key", "long": strings.Repeat("v", MaxMetaValue+1), strings.Repeat("k", MaxMetaKey+1): "x"}
	for i := range MaxMetaEntries + 5 {
		big[string(rune('a'+i%26))+strings.Repeat("_", i)] = "v"
	}
	md, rest, err := ParseMeta(AppendMeta(nil, big))
	if err != nil || len(rest) != 0 {
		t.Fatalf("ParseMeta of what AppendMeta made: %v (rest %d)", err, len(rest))
	}
	if len(md) != MaxMetaEntries {
		t.Fatalf("%d entries kept, want %d", len(md), MaxMetaEntries)
	}
	for k, v := range md {
		if k == "" || len(k) > MaxMetaKey || len(v) > MaxMetaValue || big[k] != v {
			t.Fatalf("entry %q=%q kept", k, v)
		}
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"too many", []byte{MaxMetaEntries + 1}},
		{"truncated key", []byte{1, 5, 'a'}},
		{"empty key", []byte{1, 0, 1, 'v'}},
		{"duplicate", []byte{2, 1, 'k', 0, 1, 'k', 0}},
		{"key too long", append([]byte{1, 0x81, 0x02}, strings.Repeat("k", 257)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ParseMeta(tc.in); !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
		})
	}
}

// FuzzMeta feeds arbitrary bytes to the metadata parser: it fails cleanly,
// stays within the bounds, and what it accepts encodes back to itself.
func FuzzMeta(f *testing.F) {
	f.Add(AppendMeta(nil, map[string]string{"traceparent": "00-a-b-01", "baggage": "x=1"}))
	f.Add([]byte{1, 1, 'k', 0})
	f.Add([]byte{2, 1, 'k', 0, 1, 'k', 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		md, _, err := ParseMeta(in)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error not wrapping ErrProtocol: %v", err)
			}
			return
		}
		size := 0
		for k, v := range md {
			size += len(k) + len(v)
			if k == "" || len(k) > MaxMetaKey || len(v) > MaxMetaValue {
				t.Fatalf("entry out of bounds: %q", k)
			}
		}
		if len(md) > MaxMetaEntries || size > MaxMetaSize {
			t.Fatalf("%d entries, %d bytes", len(md), size)
		}
		again, rest, err := ParseMeta(AppendMeta(nil, md))
		if err != nil || len(rest) != 0 || !maps.Equal(again, md) {
			t.Fatalf("round trip: %v, %v", again, err)
		}
	})
}
