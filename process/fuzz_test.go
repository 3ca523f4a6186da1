package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"io"
	"os"
	"slices"
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
	fe.raw = true // as a helper's
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
	f.Add(replyStream(reply{status: wire.StatusOK, value: -7}, reply{status: wire.StatusOK, value: []int{1}}, reply{status: wire.StatusOK, value: 1 << 40}))
	marked := newFrameEncoder(wire.DefaultMaxFrame) // a reply that carries the next call's start
	marked.raw = true
	marked.addReply(fuzzReg, 1, reply{status: wire.StatusOK, value: 41})
	marked.addStarted(2)
	f.Add(marked.buf.Bytes())
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
			var r interface {
				Finish(error, []error)
			}
			var perr error
			switch i % 3 {
			case 0:
				var v int
				rr := &remote[int, int]{name: "inc", args: 1, res: &v}
				_, _, _, perr = fuzzReg.decodeReply(rep, rest, dec, br, rr)
				r = rr
			case 1:
				var v []int
				rr := &remote[int, int]{name: "inc", chunk: true, args: []int{1, 2}, res: &v}
				_, _, _, perr = fuzzReg.decodeReply(rep, rest, dec, br, rr)
				r = rr
			default:
				var v map[string]int
				rr := &remote[[]string, map[string]int]{name: "words", args: []string{"a"}, res: &v}
				_, _, _, perr = fuzzReg.decodeReply(rep, rest, dec, br, rr)
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

// hostStream returns the bytes a host sends to a helper: its hello, then
// the frames of calls of fuzzInc (one per frame, or batches of several),
// then, with cancel, a cancel frame for the last call.
func hostStream(t testing.TB, cancel bool, batches ...[]int) []byte {
	var b bytes.Buffer
	wire.AppendHello(&b, wire.Hello{Pid: 1, MaxFrame: 1 << 16})
	fe := newFrameEncoder(1 << 16)
	id := uint64(1)
	for _, args := range batches {
		c := wire.Call{ID: id, Count: len(args), Cancellable: true, Name: "inc"}
		var v any = args
		if len(args) == 1 {
			v = args[0]
		}
		if err := fe.add(wire.KindCall, wire.AppendCall(nil, c), v, nil); err != nil {
			t.Fatal(err)
		}
		id += uint64(len(args))
	}
	if cancel {
		fe.buf.Write(wire.AppendCancel(nil, wire.Cancel{ID: id - 1}))
	}
	b.Write(fe.buf.Bytes())
	return b.Bytes()
}

// FuzzServeStream feeds arbitrary bytes from the host to a helper's serving
// loop (calls one per frame and in batches, cancels, stream resets): it
// must end, with nil at the end of the input or an error, and never panic;
// what it writes back must be frames.
func FuzzServeStream(f *testing.F) {
	f.Add(hostStream(f, true, []int{1}, []int{2, 3, 4}, []int{5}))
	f.Add(hostStream(f, true, []int{7, 8}))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, rd := serveBytes(t, in)
		if _, err := rd.NextHello(); err != nil {
			t.Fatalf("no hello: %v", err)
		}
		for {
			if _, _, err := rd.Next(); err == io.EOF {
				return
			} else if err != nil {
				t.Fatalf("the helper wrote bytes that are not frames: %v", err)
			}
		}
	})
}

// serveBytes runs a helper's serving loop on the host's bytes in and
// returns its error and a reader of what it wrote.
func serveBytes(t *testing.T, in []byte) (error, *wire.Reader) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		out <- b
	}()
	err = serveStream(context.Background(), fuzzReg, nil, bytes.NewReader(in), w, nil)
	w.Close()
	return err, wire.NewReader(bytes.NewReader(<-out), wire.DefaultMaxFrame)
}

// A helper serves a batch frame's calls as calls of their own: each is
// started, then replied to, in order, and a started marker rides in the
// reply before it when that reply is still buffered.
func TestServeBatch(t *testing.T) {
	err, rd := serveBytes(t, hostStream(t, false, []int{1}, []int{2, 3, 4}, []int{5}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.NextHello(); err != nil {
		t.Fatal(err)
	}
	br := bytes.NewReader(nil)
	dec := gob.NewDecoder(br)
	var started, replied []uint64
	inReply := 0
	for {
		kind, body, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch kind &^ wire.FlagReset {
		case wire.KindStarted:
			id, err := wire.ParseStarted(body)
			if err != nil {
				t.Fatal(err)
			}
			started = append(started, id)
		case wire.KindReply:
			rep, rest, err := wire.ParseReply(body)
			if err != nil || rep.Status != wire.StatusRaw { // an int result goes raw
				t.Fatalf("reply %+v: %v", rep, err)
			}
			var v int
			taskErr, _, _, perr := fuzzReg.decodeReply(rep, rest, dec, br, &remote[int, int]{name: "inc", res: &v})
			if taskErr != nil || perr != nil || v != int(rep.ID)+1 {
				t.Fatalf("reply to call %d: %d, %v, %v", rep.ID, v, taskErr, perr)
			}
			replied = append(replied, rep.ID)
			if rep.Started {
				started = append(started, rep.Next)
				inReply++
			}
		default:
			t.Fatalf("frame kind %#x", kind)
		}
		if len(started) < len(replied) {
			t.Fatalf("call %d replied to before it started", replied[len(replied)-1])
		}
	}
	want := []uint64{1, 2, 3, 4, 5}
	if !slices.Equal(started, want) || !slices.Equal(replied, want) {
		t.Fatalf("started %v, replied %v; want each of %v once, in order", started, replied, want)
	}
	if inReply == 0 {
		t.Fatal("no started marker rode in a reply")
	}
}
