package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
)

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	want := Hello{Pid: 42, Funcs: []FuncSig{{"f", "int", "string"}, {"g", "[]main.T", "map[string]int"}}, MaxFrame: 1 << 20, TaskTimeout: 3}
	AppendHello(&b, want)
	s := Begin(&b, KindCall)
	b.Write(AppendCall(nil, Call{ID: 7, Chunk: true, Name: "inc"}))
	b.WriteString("args")
	End(&b, s)
	SetReset(&b, s)
	s = Begin(&b, KindReply)
	b.Write(AppendReply(nil, Reply{ID: 7, Status: StatusErr}))
	End(&b, s)

	r := NewReader(bytes.NewReader(b.Bytes()), 1<<20)
	body, err := r.NextHello()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHello(body)
	if err != nil || !reflect.DeepEqual(h, want) {
		t.Fatalf("hello = %+v, %v", h, err)
	}
	if !r.FrameBuffered() {
		t.Fatal("FrameBuffered = false")
	}
	kind, body, err := r.Next()
	if err != nil || kind != KindCall|FlagReset {
		t.Fatalf("kind %#x, %v", kind, err)
	}
	c, rest, err := ParseCall(body)
	if err != nil || !reflect.DeepEqual(c, Call{ID: 7, Chunk: true, Count: 1, Name: "inc"}) || string(rest) != "args" {
		t.Fatalf("call = %+v %q %v", c, rest, err)
	}
	kind, body, err = r.Next()
	if err != nil || kind != KindReply {
		t.Fatal(kind, err)
	}
	if rep, rest, err := ParseReply(body); err != nil || rep != (Reply{ID: 7, Status: StatusErr}) || len(rest) != 0 {
		t.Fatalf("reply = %+v %v", rep, err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
}

func TestCallBatch(t *testing.T) {
	want := Call{ID: 5, Count: 300, Cancellable: true, Deadline: 9, Name: "inc"}
	c, rest, err := ParseCall(append(AppendCall(nil, want), "args"...))
	if err != nil || !reflect.DeepEqual(c, want) || string(rest) != "args" {
		t.Fatalf("call = %+v %q %v", c, rest, err)
	}
	// A count of 1 is the frame of a single call: no flag, no bytes.
	if got, one := AppendCall(nil, Call{ID: 5, Count: 1, Name: "f"}), AppendCall(nil, Call{ID: 5, Name: "f"}); string(got) != string(one) {
		t.Fatalf("count 1 changed the frame: %x, want %x", got, one)
	}
	for name, c := range map[string]Call{
		"count over MaxBatch": {ID: 1, Count: MaxBatch + 1, Name: "f"},
		"batch of chunks":     {ID: 1, Count: 2, Chunk: true, Name: "f"},
		"ids wrap around":     {ID: ^uint64(0), Count: 2, Name: "f"},
	} {
		if _, _, err := ParseCall(AppendCall(nil, c)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A batch flag with a count of 0 or 1 is refused.
	for _, n := range []byte{0, 1} {
		b := AppendCall(nil, Call{ID: 1, Count: 2, Name: "f"})
		b[2] = n // the count after the id (1 byte) and the flags
		if _, _, err := ParseCall(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("count %d: %v", n, err)
		}
	}
}

func TestMarkStarted(t *testing.T) {
	var b bytes.Buffer
	AppendStarted(&b, 1)
	start := Begin(&b, KindReply)
	b.Write(AppendReply(nil, Reply{ID: 300, Status: StatusOK}))
	b.WriteString("gob value")
	End(&b, start)
	SetReset(&b, start)
	if MarkStarted(&b, 0, 2) {
		t.Fatal("marked a started frame")
	}
	if !MarkStarted(&b, start, 70000) {
		t.Fatal("did not mark the reply")
	}
	if MarkStarted(&b, start, 5) {
		t.Fatal("marked a reply twice")
	}
	r := NewReader(bytes.NewReader(b.Bytes()), 1<<10)
	if kind, _, err := r.Next(); err != nil || kind != KindStarted {
		t.Fatalf("first frame: %#x %v", kind, err)
	}
	kind, body, err := r.Next()
	if err != nil || kind != KindReply|FlagReset {
		t.Fatalf("reply frame: %#x %v", kind, err)
	}
	rep, rest, err := ParseReply(body)
	if err != nil || rep != (Reply{ID: 300, Status: StatusOK, Started: true, Next: 70000}) || string(rest) != "gob value" {
		t.Fatalf("reply = %+v %q %v", rep, rest, err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
	// A started flag with no id after it is refused.
	if _, _, err := ParseReply([]byte{5, StatusOK | replyStarted}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("flag without id: %v", err)
	}
}

func TestLimits(t *testing.T) {
	for name, in := range map[string][]byte{
		"too large": {0, 0, 1, 0, KindReply},
		"bad kind":  {0, 0, 0, 0, 9},
		"truncated": {0, 0, 0, 9, KindReply, 1, 2},
		"half head": {0, 0},
	} {
		_, _, err := NewReader(bytes.NewReader(in), 100).Next()
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var b bytes.Buffer
	AppendHello(&b, Hello{Pid: 1})
	b.Bytes()[HeaderSize+len(Magic)+3] = 99 // version
	_, err := ParseHello(b.Bytes()[HeaderSize:])
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Got != 99 || ve.Want != Version {
		t.Fatalf("version: %v", err)
	}
	if _, err := NewReader(bytes.NewReader([]byte("hello there, not a helper")), 100).NextHello(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad magic: %v", err)
	}
	// Every hello cut short, or with bytes after it, is refused.
	b.Reset()
	AppendHello(&b, Hello{Pid: 7, Funcs: []FuncSig{{"f", "int", "string"}}, MaxFrame: 1 << 20})
	body := b.Bytes()[HeaderSize:]
	for n := range len(body) {
		if _, err := ParseHello(body[:n]); !errors.Is(err, ErrProtocol) {
			t.Fatalf("hello cut to %d of %d bytes: %v", n, len(body), err)
		}
	}
	if _, err := ParseHello(append(body, 0)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("hello with a trailing byte: %v", err)
	}
}

// FuzzReader feeds arbitrary bytes to every parser of the other side's
// output: they must fail cleanly, never panic, and never return a frame over
// the limit.
func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	AppendHello(&b, Hello{Pid: 3, Funcs: []FuncSig{{"a", "int", "int"}}})
	f.Add(b.Bytes())
	s := Begin(&b, KindReply)
	b.Write(AppendReply(nil, Reply{ID: 1, Status: StatusOK}))
	End(&b, s)
	s = Begin(&b, KindReply)
	b.Write(AppendReply(nil, Reply{ID: 2, Status: StatusErr, Started: true, Next: 3}))
	End(&b, s)
	s = Begin(&b, KindCall)
	b.Write(AppendCall(nil, Call{ID: 1, Name: "abc"}))
	End(&b, s)
	s = Begin(&b, KindCall)
	b.Write(AppendCall(nil, Call{ID: 2, Deadline: 5, Meta: map[string]string{"traceparent": "00-x-y-01"}, Name: "abc"}))
	End(&b, s)
	s = Begin(&b, KindCall)
	b.Write(AppendCall(nil, Call{ID: 3, Count: 40, Cancellable: true, Name: "abc"}))
	End(&b, s)
	f.Add(b.Bytes())
	f.Add([]byte{0, 0, 0, 1, KindReply, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 4096
		r := NewReader(bytes.NewReader(in), max)
		if body, err := r.NextHello(); err == nil {
			_, _ = ParseHello(body)
		}
		for {
			_ = r.FrameBuffered()
			_, body, err := r.Next()
			if err != nil {
				return
			}
			if len(body) > max {
				t.Fatalf("body of %d bytes", len(body))
			}
			_, _ = ParseHello(body)
			_, _, _ = ParseCall(body)
			_, _, _ = ParseReply(body)
		}
	})
}

// Every type AppendRaw encodes comes back as it was, and ParseRaw refuses
// bytes that are not exactly one value of the type asked for.
func TestRaw(t *testing.T) {
	roundTrip := func(v any, p any) {
		t.Helper()
		b, ok := AppendRaw([]byte("prefix"), v)
		if !ok || string(b[:6]) != "prefix" {
			t.Fatalf("AppendRaw(%T %v) = %q, %v", v, v, b, ok)
		}
		if err := ParseRaw(b[6:], p); err != nil {
			t.Fatalf("ParseRaw(%T %v): %v", v, v, err)
		}
		if got := reflect.ValueOf(p).Elem().Interface(); !reflect.DeepEqual(got, v) {
			t.Fatalf("%T: got %v, want %v", v, got, v)
		}
	}
	for _, v := range []int{0, 1, -1, math.MaxInt, math.MinInt} {
		roundTrip(v, new(int))
	}
	roundTrip(int64(math.MinInt64), new(int64))
	roundTrip(int32(math.MinInt32), new(int32))
	roundTrip(int16(math.MaxInt16), new(int16))
	roundTrip(int8(-128), new(int8))
	roundTrip(uint(math.MaxUint), new(uint))
	roundTrip(uint64(math.MaxUint64), new(uint64))
	roundTrip(uint32(math.MaxUint32), new(uint32))
	roundTrip(uint16(7), new(uint16))
	roundTrip(uint8(255), new(uint8))
	roundTrip(math.Inf(-1), new(float64))
	roundTrip(float32(1.5), new(float32))
	roundTrip(true, new(bool))
	roundTrip(false, new(bool))
	roundTrip("", new(string))
	roundTrip("héllo\x00", new(string))
	roundTrip([]byte{0, 1, 2}, new([]byte))
	var empty []byte // as gob, an empty []byte arrives nil
	roundTrip(empty, new([]byte))

	type named int // may have its own GobEncode: not raw
	for _, v := range []any{named(1), []int{1}, struct{}{}, map[string]int{}, complex(1, 2), nil} {
		if b, ok := AppendRaw([]byte("x"), v); ok || string(b) != "x" {
			t.Fatalf("AppendRaw(%T) = %q, %v, want no raw encoding", v, b, ok)
		}
	}
	if err := ParseRaw([]byte{1}, nil); err != nil {
		t.Fatalf("ParseRaw into nil: %v", err)
	}
	big, _ := AppendRaw(nil, int64(1<<40))
	for _, c := range []struct {
		b []byte
		p any
	}{
		{nil, new(int)},                 // no value
		{[]byte{0x80}, new(int)},        // cut varint
		{[]byte{2, 0}, new(int)},        // a byte left over
		{big, new(int32)},               // out of range
		{big, new(uint8)},               // out of range
		{[]byte{1, 2, 3}, new(float64)}, // short
		{[]byte{1, 2, 3, 4, 5}, new(float32)},
		{[]byte{2}, new(bool)},
		{nil, new(bool)},
		{[]byte{1}, new([]int)}, // not a raw type
		{[]byte{1}, new(named)},
	} {
		if err := ParseRaw(c.b, c.p); !errors.Is(err, ErrProtocol) {
			t.Errorf("ParseRaw(%x, %T) = %v, want ErrProtocol", c.b, c.p, err)
		}
	}
}

// FuzzRaw: ParseRaw never panics on any bytes, and a value it accepts
// encodes and parses back to itself.
func FuzzRaw(f *testing.F) {
	for _, v := range []any{-1, uint64(1 << 63), 2.5, true, "s"} {
		b, _ := AppendRaw(nil, v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, p := range []any{new(int), new(int8), new(uint16), new(uint), new(float32), new(float64), new(bool), new(string), new([]byte)} {
			if ParseRaw(in, p) != nil {
				continue
			}
			v := reflect.ValueOf(p).Elem().Interface()
			b, ok := AppendRaw(nil, v)
			q := reflect.New(reflect.TypeOf(p).Elem()).Interface()
			if !ok || ParseRaw(b, q) != nil {
				t.Fatalf("%T %v from %x: encodes to %x, %v", v, v, in, b, ok)
			}
			if w := reflect.ValueOf(q).Elem().Interface(); !reflect.DeepEqual(w, v) && !(v != v) {
				t.Fatalf("%T: %v, then %v", v, v, w)
			}
		}
	})
}
