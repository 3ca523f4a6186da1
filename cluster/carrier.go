package cluster

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// Context metadata on task messages (driver.Carrier, driver.Restorer):
// each entry k=v of a task's metadata (for OpenTelemetry: traceparent,
// tracestate, baggage) is the header Gofutures-Ctx-<k>: v. A worker given
// WithRestorer reads them back; one without ignores them, and a submitter
// whose tasks carry none sends none: like the deadline header, they are
// optional for the other side, and the wire has no version to bump.
const metaHeaderPrefix = "Gofutures-Ctx-"

// Bounds of the metadata a task message carries; entries beyond them are
// not sent, and not read.
const (
	maxMetaEntries = 32
	maxMetaKey     = 256
	maxMetaValue   = 8 << 10
	maxMetaSize    = 16 << 10
)

// addMetaHeaders adds the entries of md that fit the bounds and are valid in
// a header (a key of printable ASCII without ':' or spaces, a value without
// CR, LF or NUL) to h. Metadata is advisory: what does not fit is dropped,
// the task is sent all the same.
func addMetaHeaders(h nats.Header, md map[string]string) {
	n, size := 0, 0
	for k, v := range md {
		if n == maxMetaEntries {
			return
		}
		if !validMetaKey(k) || !validMetaValue(v) || size+len(k)+len(v) > maxMetaSize {
			continue
		}
		n++
		size += len(k) + len(v)
		h[metaHeaderPrefix+k] = []string{v}
	}
}

// metaFromHeaders returns the metadata of a task message's headers, nil if
// it has none. It reads at most the bounds' worth and skips what is out of
// them; it never fails, since a task runs without its metadata rather than
// not at all.
func metaFromHeaders(h nats.Header) map[string]string {
	var md map[string]string
	size := 0
	for hk, vs := range h {
		k, ok := strings.CutPrefix(hk, metaHeaderPrefix)
		if !ok || len(vs) != 1 || !validMetaKey(k) || !validMetaValue(vs[0]) || size+len(k)+len(vs[0]) > maxMetaSize {
			continue
		}
		if md == nil {
			md = make(map[string]string, 4)
		}
		md[k] = vs[0]
		size += len(k) + len(vs[0])
		if len(md) == maxMetaEntries {
			break
		}
	}
	return md
}

func validMetaKey(k string) bool {
	if k == "" || len(k) > maxMetaKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

func validMetaValue(v string) bool {
	return len(v) <= maxMetaValue && !strings.ContainsAny(v, "\r\n\x00")
}
