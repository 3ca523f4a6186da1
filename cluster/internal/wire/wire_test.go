package wire

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestSeqsRoundTrip(t *testing.T) {
	for _, seqs := range [][]uint64{{}, {1}, {1, 300, 1 << 40}} {
		got, err := Seqs(AppendSeqs(nil, seqs))
		if err != nil || !slices.Equal(got, seqs) {
			t.Fatalf("Seqs(AppendSeqs(%v)) = %v, %v", seqs, got, err)
		}
	}
}

func TestCancelRoundTrip(t *testing.T) {
	for _, r := range []Reason{ReasonCanceled, ReasonDeadline} {
		for _, seqs := range [][]uint64{{}, {7}, {1, 1 << 50}} {
			gr, got, err := Cancel(AppendCancel(nil, r, seqs))
			if err != nil || gr != r || !slices.Equal(got, seqs) {
				t.Fatalf("Cancel(AppendCancel(%d, %v)) = %d, %v, %v", r, seqs, gr, got, err)
			}
		}
	}
	for _, b := range [][]byte{nil, {0, 0}, {9, 0}, {1}, {1, 2, 1}} {
		if _, _, err := Cancel(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Cancel(%v) err = %v, want ErrCorrupt", b, err)
		}
	}
}

func TestResultsRoundTrip(t *testing.T) {
	in := []Result{
		{Seq: 1, Attempts: 1, RunNanos: 5, Status: StatusResult, Data: []byte("abc")},
		{Seq: 1 << 33, Attempts: 4, Status: StatusLimit, Data: []byte{}},
		{Seq: 7, Status: StatusFailed, Data: bytes.Repeat([]byte{9}, 300)},
	}
	var b []byte
	for i := range in {
		b = AppendResult(b, &in[i])
	}
	out, err := Results(b)
	if err != nil || len(out) != len(in) {
		t.Fatalf("Results: %v, %d entries", err, len(out))
	}
	for i := range in {
		if out[i].Seq != in[i].Seq || out[i].Attempts != in[i].Attempts || out[i].RunNanos != in[i].RunNanos ||
			out[i].Status != in[i].Status || !bytes.Equal(out[i].Data, in[i].Data) {
			t.Errorf("entry %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
}

func TestCorrupt(t *testing.T) {
	for _, b := range [][]byte{{0x80}, {5, 1}, {1, 1, 1}} {
		if _, err := Seqs(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Seqs(%v) err = %v, want ErrCorrupt", b, err)
		}
	}
	for _, b := range [][]byte{{1, 1, 1, 9, 0}, {1, 1, 1, 0, 5, 1}, {1}} {
		if _, err := Results(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Results(%v) err = %v, want ErrCorrupt", b, err)
		}
	}
}

func FuzzSeqs(f *testing.F) {
	f.Add(AppendSeqs(nil, []uint64{1, 2, 3}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		seqs, err := Seqs(b)
		if err != nil {
			return
		}
		again, err := Seqs(AppendSeqs(nil, seqs))
		if err != nil || !slices.Equal(again, seqs) {
			t.Fatalf("round trip of %v: %v, %v", seqs, again, err)
		}
	})
}

func FuzzCancel(f *testing.F) {
	f.Add(AppendCancel(nil, ReasonDeadline, []uint64{1, 2}))
	f.Add([]byte{1, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, seqs, err := Cancel(b)
		if err != nil {
			return
		}
		r2, again, err := Cancel(AppendCancel(nil, r, seqs))
		if err != nil || r2 != r || !slices.Equal(again, seqs) {
			t.Fatalf("round trip of %d %v: %d %v, %v", r, seqs, r2, again, err)
		}
	})
}

func FuzzResults(f *testing.F) {
	f.Add(AppendResult(nil, &Result{Seq: 3, Attempts: 1, Status: StatusResult, Data: []byte("x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Results(b)
		if err != nil {
			return
		}
		var again []byte
		for i := range rs {
			again = AppendResult(again, &rs[i])
		}
		if _, err := Results(again); err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
	})
}
