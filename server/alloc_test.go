package server

import (
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
