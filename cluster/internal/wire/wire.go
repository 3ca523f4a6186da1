package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is returned by every decoder for malformed input.
var ErrCorrupt = errors.New("cluster/wire: corrupt message")

// Status says what a Result entry holds.
type Status byte

// Result statuses.
const (
	// StatusResult: Data is the encoded result of the call (value or task error).
	StatusResult Status = iota
	// StatusLimit: the delivery limit was reached; Data is the last failure's text.
	StatusLimit
	// StatusFailed: the worker could not run or report the call; Data is the reason.
	StatusFailed
	// StatusTooLarge: the result does not fit in a message; Data is the
	// detail. The submitter fails the task with cluster.ErrTooLarge.
	StatusTooLarge
	// StatusRetry: this delivery failed without a result (a local helper
	// died, for one); Data is the reason. The submitter keeps the task and
	// records the reason; the worker hands the message back for another
	// delivery.
	StatusRetry
	statusEnd
)

// Verdicts of a start request.
const (
	Skip  byte = 0 // do not run: unknown, done or cancelled
	Run   byte = 1 // run it
	Limit byte = 2 // do not run: it started as often as allowed; the submitter failed it
	Alone byte = 3 // run it, alone: a worker that ran it before vanished, maybe killed by it
)

// Reason says why a submitter cancels running tasks: the error its
// context ended with, as far as it crosses the wire.
type Reason byte

// Cancel reasons.
const (
	// ReasonCanceled: the submit context was cancelled (context.Canceled,
	// or a cause of the submitter's own, which stays on the submitter).
	ReasonCanceled Reason = 1 + iota
	// ReasonDeadline: the submit context's deadline passed
	// (context.DeadlineExceeded).
	ReasonDeadline
	reasonEnd
)

// maxEntries bounds what a decoder allocates up front.
const maxEntries = 1 << 20

// AppendSeqs appends the start request for seqs to b.
func AppendSeqs(b []byte, seqs []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(seqs)))
	for _, s := range seqs {
		b = binary.AppendUvarint(b, s)
	}
	return b
}

// Seqs decodes a start request.
func Seqs(b []byte) ([]uint64, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	if n > maxEntries || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d sequence numbers in %d bytes", ErrCorrupt, n, len(b))
	}
	seqs := make([]uint64, n)
	for i := range seqs {
		if seqs[i], b, err = uvarint(b); err != nil {
			return nil, err
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(b))
	}
	return seqs, nil
}

// AppendCancel appends a cancel message to b: the reason, then the sequence
// numbers of the tasks to cancel (as AppendSeqs).
func AppendCancel(b []byte, r Reason, seqs []uint64) []byte {
	return AppendSeqs(append(b, byte(r)), seqs)
}

// Cancel decodes a cancel message.
func Cancel(b []byte) (Reason, []uint64, error) {
	if len(b) == 0 || b[0] == 0 || Reason(b[0]) >= reasonEnd {
		return 0, nil, fmt.Errorf("%w: bad cancel reason", ErrCorrupt)
	}
	seqs, err := Seqs(b[1:])
	if err != nil {
		return 0, nil, err
	}
	return Reason(b[0]), seqs, nil
}

// Result is one entry of a result batch.
type Result struct {
	Seq      uint64
	Attempts uint64 // deliveries of the task so far
	RunNanos uint64 // how long the call ran on the worker
	Status   Status
	Data     []byte
}

// Size returns an upper bound of the encoded size of r.
func (r *Result) Size() int { return 4*binary.MaxVarintLen64 + 1 + len(r.Data) }

// AppendResult appends one encoded entry to b. A batch is a concatenation of entries.
func AppendResult(b []byte, r *Result) []byte {
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendUvarint(b, r.Attempts)
	b = binary.AppendUvarint(b, r.RunNanos)
	b = append(b, byte(r.Status))
	b = binary.AppendUvarint(b, uint64(len(r.Data)))
	return append(b, r.Data...)
}

// Results decodes a result batch. Data fields alias b.
func Results(b []byte) ([]Result, error) {
	var out []Result
	for len(b) > 0 {
		if len(out) >= maxEntries {
			return nil, fmt.Errorf("%w: too many results", ErrCorrupt)
		}
		var r Result
		var err error
		var n uint64
		if r.Seq, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if r.Attempts, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if r.RunNanos, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if len(b) == 0 || Status(b[0]) >= statusEnd {
			return nil, fmt.Errorf("%w: bad result status", ErrCorrupt)
		}
		r.Status, b = Status(b[0]), b[1:]
		if n, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if n > uint64(len(b)) {
			return nil, fmt.Errorf("%w: result of %d bytes in %d", ErrCorrupt, n, len(b))
		}
		r.Data, b = b[:n:n], b[n:]
		out = append(out, r)
	}
	return out, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad varint", ErrCorrupt)
	}
	return v, b[n:], nil
}
