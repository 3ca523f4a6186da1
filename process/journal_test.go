package process

import (
	"bytes"
	"os"
	"syscall"
	"testing"

	"github.com/gofutures/gofutures/process/internal/wire"
)

// The journal holds every frame put, so that the host can read, after the
// helper died, the frames the pipe did not bring; it starts again empty when
// full, once the pipe has taken all it held; a batch too large for it goes to
// the pipe before put returns.
func TestJournal(t *testing.T) {
	f, hostMem, err := newJournalFile()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer syscall.Munmap(hostMem)
	helperMem, err := syscall.Mmap(int(f.Fd()), 0, journalSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(helperMem)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const start = 100 // the hello's bytes
	ob := newOutbox(w, helperMem, start)
	frame := func(id uint64) []byte {
		var b bytes.Buffer
		wire.AppendStarted(&b, id)
		return b.Bytes()
	}
	var all []byte
	for id := range uint64(3) {
		b := frame(id + 1)
		all = append(all, b...)
		if err := ob.put(b); err != nil {
			t.Fatal(err)
		}
	}
	// The host read the first frame from the pipe: the journal has the rest.
	first := int64(len(frame(1)))
	if tail := journalTail(hostMem, start+first); !bytes.Equal(tail, all[first:]) {
		t.Fatalf("journal tail %x, want %x", tail, all[first:])
	}
	if tail := journalTail(hostMem, start+int64(len(all))); tail != nil {
		t.Fatalf("journal tail after everything was read: %x", tail)
	}
	// A batch larger than the journal is written before put returns (the
	// pipe is read meanwhile), and the journal is then empty.
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		got <- b.Bytes()
	}()
	big := bytes.Repeat([]byte{7}, journalSize)
	if err := ob.put(big); err != nil {
		t.Fatal(err)
	}
	if tail := journalTail(hostMem, start+int64(len(all))); tail != nil {
		t.Fatalf("journal after a large batch holds %d bytes", len(tail))
	}
	if err := ob.close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if b := <-got; !bytes.Equal(b, append(all, big...)) {
		t.Fatalf("the pipe brought %d bytes, want %d", len(b), len(all)+len(big))
	}
}
