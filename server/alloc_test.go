package server

import (
	"runtime"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestHeaderHygieneAlloc: copying a caller's headers to the destination request (dropping BT-*
// and hop-by-hop headers) allocates nothing once the request object is warm.
func TestHeaderHygieneAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	var src, dst fasthttp.RequestHeader
	src.SetMethod("POST")
	src.SetRequestURI("/proxy/charge")
	for _, kv := range [][2]string{{"BT-API-KEY", "key_x"}, {"BT-PROXY-URL", "https://example.com"}, {"Content-Type", "application/json"},
		{"X-Card", "{{ tok }}"}, {"Connection", "keep-alive, X-Hop"}, {"X-Hop", "1"}, {"Accept", "*/*"}, {"BT-PROXY-KEEP-ALIVE", "timeout=5"}} {
		src.Add(kv[0], kv[1])
	}
	run := func() {
		dst.Reset()
		copyRequestHeaders(&dst, &src)
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("header hygiene allocates %.1f times per request", n)
	}
	if len(dst.Peek("BT-API-KEY")) != 0 || len(dst.Peek("X-Hop")) != 0 || string(dst.Peek("X-Card")) != "{{ tok }}" {
		t.Fatal("hygiene result wrong")
	}
}

// TestMetricsObserveAlloc: recording a request in the metrics allocates nothing once its series
// exist.
func TestMetricsObserveAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	m := newMetrics()
	c := &call{route: "/proxy", tokens: 5, destDuration: 1}
	m.observe(c, 200, 1000)
	if n := testing.AllocsPerRun(200, func() { m.observe(c, 200, 1000) }); n != 0 {
		t.Fatalf("observe allocates %.1f times", n)
	}
}

// TestResponseHygiene: the destination's connection headers, the ones its Connection header
// names and its own BT-PROXY-DESTINATION-STATUS leave its answer; framing and everything else
// stay; and that costs no allocation.
func TestResponseHygiene(t *testing.T) {
	var h fasthttp.ResponseHeader
	fill := func(trailer bool) {
		h.Reset()
		h.SetContentLength(42)
		h.SetContentType("application/json")
		for _, kv := range [][2]string{{"Connection", "X-Hop, Content-Length"}, {"X-Hop", "1"}, {"Keep-Alive", "timeout=5"},
			{"Proxy-Authenticate", "Basic"}, {"Upgrade", "h2c"}, {headerDestinationStatus, "999"},
			{"X-Keep", "yes"}, {"Set-Cookie", "a=b"}} {
			h.Add(kv[0], kv[1])
		}
		if trailer {
			h.Add("Trailer", "X-T") // fasthttp's own Trailer bookkeeping allocates: not in the count below
		}
	}
	fill(true)
	stripResponseHeaders(&h)
	for _, gone := range []string{"X-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Trailer", headerDestinationStatus, "Connection"} {
		if len(h.Peek(gone)) != 0 {
			t.Errorf("%s was not removed", gone)
		}
	}
	if h.ContentLength() != 42 || string(h.ContentType()) != "application/json" || string(h.Peek("X-Keep")) != "yes" || h.ConnectionClose() {
		t.Fatalf("kept headers changed: %s", h.Header())
	}
	if raceEnabled {
		return
	}
	// AllocsPerRun would count fill too: count around the strip alone.
	var ms runtime.MemStats
	var total uint64
	for range 50 {
		fill(false)
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		stripResponseHeaders(&h)
		runtime.ReadMemStats(&ms)
		total += ms.Mallocs - before
	}
	if total != 0 {
		t.Fatalf("response hygiene allocated %d times in 50 runs", total)
	}
}
