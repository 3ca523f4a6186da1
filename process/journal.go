package process

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A helper's replies must reach the host even if the helper dies right
// after a call returned, and they must leave as soon as the call returned,
// yet a write to the pipe per call costs more than a small task. So the
// helper keeps, in memory it shares with the host (the journal: a memfd both
// map), every frame it has produced and not yet written to the pipe, and a
// goroutine of its own (the flusher) writes the frames to the pipe as they
// come, several per write when they come faster than it writes. Before a
// call starts, its started marker and every reply before it are in the
// journal: a copy, no system call. When the helper dies, the host reads the
// pipe to its end, then the frames of the journal it has not read.
//
// Layout: a header of journalHeader bytes, then the frames. The header holds,
// as little-endian uint64s, the stream offset of the first frame in the
// journal (base: bytes of the helper's stream before it, its hello
// included) and the length of the frames after the header (length, stored
// last, once the frames are in place).

// journalSize is the size of a journal; a frame batch that does not fit goes
// to the pipe before the next call starts instead.
const journalSize = 1 << 20

const journalHeader = 64

// newJournalFile makes the shared memory of a journal, for a helper to map
// (as its fd 5); the host maps it too.
func newJournalFile() (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("gofutures-journal", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "gofutures-journal")
	if err := f.Truncate(journalSize); err != nil {
		f.Close()
		return nil, nil, err
	}
	mem, err := syscall.Mmap(fd, 0, journalSize, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return f, mem, nil
}

// journalTail returns the frames of the journal mem that come at or after
// stream offset off (the bytes the host has read from the pipe), once the
// helper has exited. It returns nil if there are none or the header does not
// make sense.
func journalTail(mem []byte, off int64) []byte {
	if len(mem) < journalHeader {
		return nil
	}
	base := int64(binary.LittleEndian.Uint64(mem[0:]))
	n := int64(binary.LittleEndian.Uint64(mem[8:]))
	if base < 0 || n < 0 || n > int64(len(mem)-journalHeader) || off < base || off >= base+n {
		return nil
	}
	return mem[journalHeader+off-base : journalHeader+n]
}

// outbox is the helper's side: frames go into the journal and, by the
// flusher, to the pipe. Safe for use by the call loop and the flusher.
type outbox struct {
	mem []byte // the journal, mapped read-write; nil: no journal (every batch is written before the next call)
	out *os.File

	mu       sync.Mutex
	cond     sync.Cond
	pending  []byte // produced, not yet handed to the flusher
	writing  bool   // the flusher is writing
	produced int64  // stream offset after the last frame produced
	written  int64  // stream offset after the last frame written to the pipe
	base, n  int64  // the journal's frames: stream offsets [base, base+n)
	err      error  // the pipe failed
	closed   bool
}

func newOutbox(out *os.File, mem []byte, offset int64) *outbox {
	o := &outbox{mem: mem, out: out, produced: offset, written: offset, base: offset}
	o.cond.L = &o.mu
	o.storeHeader()
	go o.flusher()
	return o
}

func (o *outbox) storeHeader() {
	if o.mem == nil {
		return
	}
	// base first, then the length: the host reads them after the helper
	// died, so only the order matters (a length of 0 means nothing to read).
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&o.mem[8])), 0)
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&o.mem[0])), uint64(o.base))
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&o.mem[8])), uint64(o.n))
}

// put hands frames b over: once it returns they are in the journal (or
// written to the pipe, if they do not fit), so they reach the host even if
// the helper dies next; the flusher writes them to the pipe soon. b may be
// reused after put returns.
func (o *outbox) put(b []byte) error { return o.send(b, false) }

// send is put; with direct, when the flusher is idle, it writes b to the
// pipe itself (the helper is about to wait for input: a hand-over to the
// flusher would only add latency).
func (o *outbox) send(b []byte, direct bool) error {
	if len(b) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if direct && !o.writing && len(o.pending) == 0 {
		return o.writeLocked(b)
	}
	room := int64(len(o.mem) - journalHeader)
	if o.mem != nil && o.n+int64(len(b)) > room {
		// Full: once the flusher has written all the journal holds, it
		// starts again empty.
		for o.err == nil && o.written < o.produced {
			o.cond.Wait()
		}
		if o.err != nil {
			return o.err
		}
		o.base, o.n = o.produced, 0
		o.storeHeader()
	}
	if o.mem == nil || int64(len(b)) > room {
		// No journal, or too large for it: the pipe itself, before the
		// next call.
		for o.err == nil && (o.writing || len(o.pending) > 0) {
			o.cond.Wait()
		}
		if o.err != nil {
			return o.err
		}
		return o.writeLocked(b)
	}
	copy(o.mem[journalHeader+o.n:], b)
	o.n += int64(len(b))
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&o.mem[8])), uint64(o.n))
	o.pending = append(o.pending, b...)
	o.produced += int64(len(b))
	o.cond.Broadcast()
	return nil
}

// writeLocked writes b to the pipe from the calling goroutine, while
// nothing else is pending or being written.
func (o *outbox) writeLocked(b []byte) error {
	o.produced += int64(len(b))
	o.writing = true
	o.mu.Unlock()
	_, err := o.out.Write(b)
	o.mu.Lock()
	o.writing = false
	defer o.cond.Broadcast()
	if err != nil {
		o.err = err
		return err
	}
	o.written = o.produced
	o.base, o.n = o.produced, 0
	o.storeHeader()
	return nil
}

// flusher writes the frames put to the pipe, as many at a time as have
// come, until close.
func (o *outbox) flusher() {
	var buf []byte
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		for len(o.pending) == 0 && !o.closed && o.err == nil {
			o.cond.Wait()
		}
		if len(o.pending) == 0 || o.err != nil {
			return
		}
		buf, o.pending = o.pending, buf[:0]
		end := o.produced
		o.writing = true
		o.mu.Unlock()
		_, err := o.out.Write(buf)
		o.mu.Lock()
		o.writing = false
		if err != nil {
			o.err = err
		} else {
			o.written = end
		}
		if cap(buf) > journalSize {
			buf = nil
		}
		o.cond.Broadcast()
	}
}

// Write is put, for frameEncoder.flush.
func (o *outbox) Write(b []byte) (int, error) {
	if err := o.put(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// drain waits until every frame put has been written, and returns the
// pipe's error if any.
func (o *outbox) drain() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.err == nil && o.written < o.produced {
		o.cond.Wait()
	}
	return o.err
}

// close drains, then stops the flusher.
func (o *outbox) close() error {
	err := o.drain()
	o.mu.Lock()
	o.closed = true
	o.cond.Broadcast()
	o.mu.Unlock()
	return err
}
