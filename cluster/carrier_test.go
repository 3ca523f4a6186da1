package cluster

import (
	"maps"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestMetaHeaders(t *testing.T) {
	md := map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "baggage": "k=v",
		"bad key": "x", "bad:key": "x", "crlf": "a\r\nInjected: 1", "": "empty", strings.Repeat("k", maxMetaKey+1): "x",
		"long": strings.Repeat("v", maxMetaValue+1)}
	h := nats.Header{}
	addMetaHeaders(h, md)
	got := metaFromHeaders(h)
	want := map[string]string{"traceparent": md["traceparent"], "baggage": "k=v"}
	if !maps.Equal(got, want) {
		t.Fatalf("round trip = %v, want %v", got, want)
	}
	if metaFromHeaders(nats.Header{"Nats-Msg-Id": {"a.1"}}) != nil {
		t.Fatal("metadata from a message without any")
	}
}

// FuzzMetaHeaders feeds arbitrary task message headers to the worker's
// reader of context metadata: it never fails, and what it returns is
// within the bounds.
func FuzzMetaHeaders(f *testing.F) {
	f.Add("traceparent", "00-a-b-01", "tracestate", "x=1", 1)
	f.Add("", "", "a:b", "\n", 40)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, copies int) {
		h := nats.Header{metaHeaderPrefix + k1: {v1}, metaHeaderPrefix + k2: {v2, v1}, "Other": {v1}}
		for i := range min(max(copies, 0), 100) {
			h[metaHeaderPrefix+k1+strings.Repeat("x", i)] = []string{v2}
		}
		md := metaFromHeaders(h)
		size := 0
		for k, v := range md {
			size += len(k) + len(v)
			if !validMetaKey(k) || len(v) > maxMetaValue {
				t.Fatalf("entry out of bounds: %q", k)
			}
		}
		if len(md) > maxMetaEntries || size > maxMetaSize {
			t.Fatalf("%d entries, %d bytes", len(md), size)
		}
		again := nats.Header{}
		addMetaHeaders(again, md)
		if back := metaFromHeaders(again); !maps.Equal(back, md) {
			t.Fatalf("round trip: %v, want %v", back, md)
		}
	})
}
