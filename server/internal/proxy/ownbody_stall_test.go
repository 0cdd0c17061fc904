package proxy

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// TestAnnouncedBodyLengthHoldsOnlyWhatArrived: a caller that announces a body of up to 64 KiB,
// sends a little past fasthttp's 8 KiB read-ahead and then stalls or hangs up makes the
// exchange hold about what it sent, not what it announced: memory follows the bytes that came,
// so a caller cannot reserve 64 KiB per connection for the price of 8. The whole body, once
// there, is still read byte for byte.
func TestAnnouncedBodyLengthHoldsOnlyWhatArrived(t *testing.T) {
	for _, tc := range []struct {
		name            string
		announced, sent int
	}{
		{"64 KiB announced, 9 KiB sent", maxOwnBody, 9 << 10},
		{"64 KiB announced, 8 KiB and a byte sent", maxOwnBody, 8<<10 + 1},
		{"40 KiB announced, 12 KiB sent", 40 << 10, 12 << 10},
		{"64 KiB announced and sent", maxOwnBody, maxOwnBody},
		{"20 KiB announced and sent", 20 << 10, 20 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), tc.announced/16)
			var rc fasthttp.RequestCtx
			streamedRequest(t, &rc, body[:tc.sent], tc.announced)
			x := &exchange{c: &edge.Call{RC: &rc}}
			got, err := x.readOwnBody(rc.RequestBodyStream(), tc.announced)
			if tc.sent < tc.announced {
				if err == nil {
					t.Fatalf("a body cut short at %d of %d bytes was read", tc.sent, tc.announced)
				}
				// Doubling as it goes: at most twice what arrived.
				if held := cap(x.body); held > 2*tc.sent {
					t.Fatalf("%d bytes held for %d that arrived (%d announced)", held, tc.sent, tc.announced)
				}
				return
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("whole body: %d bytes (%v), want %d", len(got), err, len(body))
			}
		})
	}
}

// TestOwnBodyReusesThePooledExchangesBuffer: once a pooled exchange's buffer has grown to a
// body's size, reading another body of that size allocates nothing (growing with what arrives
// costs only the first, cold read).
func TestOwnBodyReusesThePooledExchangesBuffer(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 20<<10)
	var rc fasthttp.RequestCtx
	x := &exchange{c: &edge.Call{RC: &rc}}
	prepare := func() {
		rc.Request.Reset()
		streamedRequest(t, &rc, body, len(body))
	}
	prepare()
	if _, err := x.readOwnBody(rc.RequestBodyStream(), len(body)); err != nil {
		t.Fatal(err)
	}
	if n := runsAllocating(prepare, func() {
		if got, err := x.readOwnBody(rc.RequestBodyStream(), len(body)); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes (%v)", len(got), err)
		}
	}); n > 5 {
		t.Fatalf("reading a body into the grown buffer allocated in %d of 50 runs", n)
	}
}
