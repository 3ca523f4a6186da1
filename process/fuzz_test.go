package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"io"
	"testing"

	"github.com/gofutures/gofutures/process/internal/wire"
)

var fuzzReg = NewRegistry()

var (
	fuzzInc   = MustRegister(fuzzReg, "inc", func(_ context.Context, x int) (int, error) { return x + 1, nil })
	fuzzWords = MustRegister(fuzzReg, "words", func(_ context.Context, s []string) (map[string]int, error) {
		m := map[string]int{}
		for _, w := range s {
			m[w]++
		}
		return m, nil
	})
)

// remote is a driver.Remote for the fuzz tests.
type remote[A, R any] struct {
	name  string
	chunk bool
	args  any
	res   any
	done  int
}

func (r *remote[A, R]) FuncName() string      { return r.name }
func (r *remote[A, R]) Chunk() bool           { return r.chunk }
func (r *remote[A, R]) Args() any             { return r.args }
func (r *remote[A, R]) Result() any           { return r.res }
func (r *remote[A, R]) Finish(error, []error) { r.done++ }

// replyStream returns the bytes a helper sends for the given calls.
func replyStream(calls ...reply) []byte {
	fe := newFrameEncoder(wire.DefaultMaxFrame)
	for i, c := range calls {
		fe.addReply(fuzzReg, uint64(i+1), c)
	}
	return fe.buf.Bytes()
}

// FuzzHostReader feeds arbitrary bytes to the host's side of a helper's
// stream, as the pool's reader does: frames, reply headers, then gob values
// decoded into typed results through one persistent decoder. Nothing may
// panic or allocate past the frame limit; errors end the stream.
func FuzzHostReader(f *testing.F) {
	f.Add(replyStream(reply{status: wire.StatusOK, value: 41}, reply{status: wire.StatusErr, err: wire.ErrorInfo{Type: "x", Message: "y"}}))
	f.Add(replyStream(reply{status: wire.StatusItemErrs, items: []wire.ErrorInfo{{}, {Type: "t", Message: "m", Sentinel: "context.Canceled"}}, value: []int{1, 2}}))
	f.Add(replyStream(reply{status: wire.StatusOK, value: map[string]int{"a": 1}}))
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := wire.NewReader(bytes.NewReader(in), 1<<16)
		br := bytes.NewReader(nil)
		dec := gob.NewDecoder(br)
		for i := 0; ; i++ {
			kind, body, err := rd.Next()
			if err != nil {
				return
			}
			if kind&wire.FlagReset != 0 {
				dec = gob.NewDecoder(br)
			}
			if kind&^wire.FlagReset == wire.KindStarted {
				if _, err := wire.ParseStarted(body); err != nil {
					return
				}
				continue
			}
			rep, rest, err := wire.ParseReply(body)
			if err != nil {
				return
			}
			br.Reset(rest)
			var r interface {
				Finish(error, []error)
			}
			var perr error
			switch i % 3 {
			case 0:
				var v int
				rr := &remote[int, int]{name: "inc", args: 1, res: &v}
				_, _, _, perr = fuzzReg.decodeReply(rep, dec, rr)
				r = rr
			case 1:
				var v []int
				rr := &remote[int, int]{name: "inc", chunk: true, args: []int{1, 2}, res: &v}
				_, _, _, perr = fuzzReg.decodeReply(rep, dec, rr)
				r = rr
			default:
				var v map[string]int
				rr := &remote[[]string, map[string]int]{name: "words", args: []string{"a"}, res: &v}
				_, _, _, perr = fuzzReg.decodeReply(rep, dec, rr)
				r = rr
			}
			_ = r
			if perr != nil {
				return
			}
		}
	})
}

// FuzzServeCall feeds arbitrary call messages to the single-message entry
// point that other executors (package cluster) expose to the network.
func FuzzServeCall(f *testing.F) {
	for _, r := range []*remote[int, int]{
		{name: "inc", args: 1},
		{name: "inc", chunk: true, args: []int{1, 2, 3}},
		{name: "nope", args: 1},
	} {
		b, err := fuzzReg.EncodeCall(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A call header with context metadata (a trace context), as an Executor's
	// helper receives it.
	var meta bytes.Buffer
	meta.Write(wire.AppendCall(nil, wire.Call{Name: "inc", Meta: map[string]string{"traceparent": "00-a-b-01"}}))
	_ = gob.NewEncoder(&meta).Encode(1)
	f.Add(meta.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := fuzzReg.ServeCall(context.Background(), in)
		if err != nil {
			return
		}
		if _, _, err := wire.ParseReply(rep); err != nil {
			t.Fatalf("ServeCall made a bad reply: %v", err)
		}
	})
}

func TestSingleMessage(t *testing.T) {
	ctx := context.Background()
	var v int
	r := &remote[int, int]{name: "inc", args: 41, res: &v}
	call, err := fuzzReg.EncodeCall(r)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fuzzReg.ServeCall(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if err := fuzzReg.DecodeReply(rep, r); err != nil || v != 42 || r.done != 1 {
		t.Fatalf("v = %d, done %d, %v", v, r.done, err)
	}
	var m []map[string]int
	rc := &remote[[]string, map[string]int]{name: "words", chunk: true, args: [][]string{{"a", "b", "a"}, nil}, res: &m}
	call, err = fuzzReg.EncodeCall(rc)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = fuzzReg.ServeCall(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if err := fuzzReg.DecodeReply(rep, rc); err != nil || len(m) != 2 || m[0]["a"] != 2 {
		t.Fatalf("m = %v, %v", m, err)
	}
	if err := fuzzReg.DecodeReply([]byte{1}, r); err == nil {
		t.Fatal("DecodeReply accepted garbage")
	}
	_ = fuzzInc
	_ = fuzzWords
}

// A rejected or a large frame does not keep its memory: the encoder's buffer
// and gob stream are let go at the next flush (the stream is started anew,
// flagged on the next frame).
func TestLargeFrameLetGo(t *testing.T) {
	const limit = 4 << 20
	fe := newFrameEncoder(limit)
	big := &remote[[]byte, int]{name: "bytes", args: make([]byte, 16<<20)}
	if err := fe.addCall(1, big, big.Args(), nil); err == nil {
		t.Fatal("a 16 MiB argument was accepted with a 4 MiB limit")
	}
	if err := fe.flush(io.Discard); err != nil {
		t.Fatal(err)
	}
	if c := fe.buf.Cap(); c > wire.LargeFrame {
		t.Fatalf("after a rejected frame the buffer keeps %d bytes", c)
	}
	large := &remote[[]byte, int]{name: "bytes", args: make([]byte, 2<<20)}
	if err := fe.addCall(2, large, large.Args(), nil); err != nil {
		t.Fatal(err)
	}
	if err := fe.flush(io.Discard); err != nil {
		t.Fatal(err)
	}
	if c := fe.buf.Cap(); c > wire.LargeFrame {
		t.Fatalf("after a large frame the buffer keeps %d bytes", c)
	}
	small := &remote[int, int]{name: "inc", args: 1}
	if err := fe.addCall(3, small, small.Args(), nil); err != nil {
		t.Fatal(err)
	}
	rd := wire.NewReader(bytes.NewReader(fe.buf.Bytes()), limit)
	kind, _, err := rd.Next()
	if err != nil || kind&wire.FlagReset == 0 {
		t.Fatalf("the frame after a large one: kind %#x, %v; want a new stream", kind, err)
	}
}
