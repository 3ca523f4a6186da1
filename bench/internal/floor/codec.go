package floor

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// The frames of package process's wire protocol (process/internal/wire,
// which this module cannot import), rebuilt for the codec floor: a 4-byte
// big-endian body length and a kind byte, then a binary header and the gob
// value of one persistent gob stream per direction.
const (
	kindCall    = 2
	kindReply   = 3
	kindStarted = 4
	headerSize  = 5
)

// begin starts a frame of kind at the end of b; end writes its length.
func begin(b *bytes.Buffer, kind byte) int {
	start := b.Len()
	b.Write([]byte{0, 0, 0, 0, kind})
	return start
}

func end(b *bytes.Buffer, start int) {
	binary.BigEndian.PutUint32(b.Bytes()[start:], uint32(b.Len()-start-headerSize))
}

// codecLoop does, for n tasks of inc(int) int, the gob work one task needs
// in frames of its own, as a process.Executor's stream carried it up to
// protocol 4: the host encodes the call frame, the helper decodes it,
// encodes the started marker and the reply frame, and the host decodes the
// reply; frames go through memory, a batch of batch calls at a time, as a
// stream would carry them. It returns the bytes of frames per task (both
// ways). (Protocol 5 does less: the arguments of calls queued together are
// one gob value, and a started marker rides in the reply before it.)
func codecLoop(n, batch int) (perTask int, err error) {
	var calls, replies bytes.Buffer
	callEnc, replyEnc := gob.NewEncoder(&calls), gob.NewEncoder(&replies)
	var cbr, rbr bytes.Reader
	callDec, replyDec := gob.NewDecoder(&cbr), gob.NewDecoder(&rbr)
	var hdr []byte
	total := 0
	for i := 0; i < n; i += batch {
		k := min(batch, n-i)
		calls.Reset()
		for j := range k {
			start := begin(&calls, kindCall)
			hdr = binary.AppendUvarint(hdr[:0], uint64(i+j+1))
			hdr = append(hdr, 0) // flags
			hdr = binary.AppendUvarint(hdr, 3)
			hdr = append(hdr, "inc"...)
			calls.Write(hdr)
			if err := callEnc.Encode(i + j); err != nil {
				return 0, err
			}
			end(&calls, start)
		}
		// The helper: each call frame, decoded; a started marker and a reply.
		replies.Reset()
		body := calls.Bytes()
		for len(body) > 0 {
			l := int(binary.BigEndian.Uint32(body))
			frame := body[headerSize : headerSize+l]
			body = body[headerSize+l:]
			id, m := binary.Uvarint(frame)
			nl, m2 := binary.Uvarint(frame[m+1:])
			cbr.Reset(frame[m+1+m2+int(nl):])
			var a int
			if err := callDec.Decode(&a); err != nil {
				return 0, err
			}
			start := begin(&replies, kindStarted)
			replies.Write(binary.AppendUvarint(hdr[:0], id))
			end(&replies, start)
			start = begin(&replies, kindReply)
			hdr = binary.AppendUvarint(hdr[:0], id)
			replies.Write(append(hdr, 0)) // status OK
			if err := replyEnc.Encode(a + 1); err != nil {
				return 0, err
			}
			end(&replies, start)
		}
		total += calls.Len() + replies.Len()
		// The host: each reply decoded.
		body = replies.Bytes()
		for len(body) > 0 {
			l := int(binary.BigEndian.Uint32(body))
			kind, frame := body[4], body[headerSize:headerSize+l]
			body = body[headerSize+l:]
			if kind != kindReply {
				continue
			}
			_, m := binary.Uvarint(frame)
			rbr.Reset(frame[m+1:])
			var r int
			if err := replyDec.Decode(&r); err != nil {
				return 0, err
			}
		}
	}
	return total / n, nil
}

// Codec is the codec floor of tasks submitted one by one to a pool of
// workers helpers: the gob encodes and decodes of each task's call and
// reply frames (codecLoop) on workers goroutines at once, and the cost of
// streaming the frames' bytes through workers pairs of pipes (writes of
// batch tasks' frames, as the pool sends up to its in-flight depth in one
// write). Rates are in tasks per second.
type Codec struct {
	Encode   float64 // tasks/s of the gob work alone, on workers goroutines
	Pipe     float64 // tasks/s of the frames' bytes through workers pipe pairs
	Floor    float64 // tasks/s of both: 1/(1/Encode + 1/Pipe)
	FrameLen int     // bytes of frames per task, both ways
}

// MeasureCodec measures the codec floor with n tasks per goroutine.
func MeasureCodec(workers, n, batch int) (Codec, error) {
	var c Codec
	if _, err := codecLoop(batch, batch); err != nil { // warm up the types
		return c, err
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	lens := make([]int, workers)
	start := time.Now()
	for w := range workers {
		wg.Go(func() { lens[w], errs[w] = codecLoop(n, batch) })
	}
	wg.Wait()
	c.Encode = float64(workers*n) / time.Since(start).Seconds()
	for _, err := range errs {
		if err != nil {
			return c, err
		}
	}
	c.FrameLen = lens[0]
	pipe, err := pipeRate(workers, n, batch, c.FrameLen)
	if err != nil {
		return c, err
	}
	c.Pipe = pipe
	c.Floor = 1 / (1/c.Encode + 1/c.Pipe)
	return c, nil
}

// pipeRate streams n tasks' worth of frame bytes (frameLen each, half each
// way) through workers pairs of os.Pipe, batch tasks per write, and returns
// tasks per second.
func pipeRate(workers, n, batch, frameLen int) (float64, error) {
	chunk := make([]byte, batch*frameLen/2)
	var wg sync.WaitGroup
	errs := make([]error, 2*workers)
	stream := func(i int) error {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 64<<10)
			want := int64(n/batch) * int64(len(chunk))
			var got int64
			for got < want {
				k, err := r.Read(buf)
				got += int64(k)
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for range n / batch {
			if _, err := w.Write(chunk); err != nil {
				w.Close()
				return err
			}
		}
		w.Close()
		if err := <-done; err != nil && err != io.EOF {
			return fmt.Errorf("pipe: %w", err)
		}
		return nil
	}
	start := time.Now()
	for i := range 2 * workers { // each pool's helper has a pipe each way
		wg.Go(func() { errs[i] = stream(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(workers*(n/batch)*batch) / time.Since(start).Seconds(), nil
}
