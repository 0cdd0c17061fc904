package proxy

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
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

// TestStripRequestHeadersMatchesCopy: editing the caller's headers in place leaves exactly what
// copying them would, for every header shape the copy handles; and allocates nothing.
func TestStripRequestHeadersMatchesCopy(t *testing.T) {
	var src, copied, inPlace fasthttp.RequestHeader
	fill := func(h *fasthttp.RequestHeader) {
		h.Reset()
		h.SetMethod("POST")
		h.SetRequestURI("/proxy/charge")
		h.SetHost("edge.example")
		h.SetContentLength(12)
		for _, kv := range [][2]string{{"BT-API-KEY", "key_x"}, {"bt-proxy-url", "https://example.com"}, {"Content-Type", "application/json"},
			{"X-Card", "{{ tok }}"}, {"Connection", "keep-alive, X-Hop"}, {"X-Hop", "1"}, {"Accept", "*/*"}, {"BT-PROXY-KEEP-ALIVE", "timeout=5"},
			{"BT-PROXY-CONNECTION", "Upgrade"}, {"Te", "trailers"}, {"Upgrade", "h2c"}, {"X-Footprint-Secret-Key", "sk"},
			{"Proxy-Authorization", "Basic x"}, {"Cookie", "a=b"}, {"User-Agent", "ua"}} {
			h.Add(kv[0], kv[1])
		}
	}
	fill(&src)
	copyRequestHeaders(&copied, &src)
	fill(&inPlace)
	if ok, err := stripRequestHeaders(&inPlace); !ok || err != nil {
		t.Fatal(ok, err)
	}
	headers := func(h *fasthttp.RequestHeader) map[string][]string {
		m := map[string][]string{}
		for k, v := range h.All() {
			switch string(k) {
			case "Host", "Content-Length":
				continue // set from the destination URL and body when sent
			}
			m[string(k)] = append(m[string(k)], string(v))
		}
		return m
	}
	want, got := headers(&copied), headers(&inPlace)
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("in place:\n%v\ncopied:\n%v", got, want)
	}
	for k := range got {
		if skipForward([]byte(k)) && k != "Keep-Alive" && k != "Connection" { // those two come from BT-PROXY-*
			t.Fatalf("%s left in place", k)
		}
	}
	if raceEnabled {
		return
	}
	for range 5 { // warm: fasthttp's header slots and buffers reach their size
		fill(&inPlace)
		stripRequestHeaders(&inPlace)
	}
	if n := runsAllocating(func() { fill(&inPlace) }, func() { stripRequestHeaders(&inPlace) }); n > 10 {
		t.Fatalf("stripping request headers allocated in %d of 50 runs", n)
	}
}

// runsAllocating counts the runs, of 50, in which work allocated, preparing each with prepare
// (not counted; testing.AllocsPerRun would count it). The count is the process's, so a goroutine
// left by another test may allocate meanwhile: work that allocates does so in every run, noise
// shows in a few.
func runsAllocating(prepare, work func()) int {
	var ms runtime.MemStats
	n := 0
	for range 50 {
		prepare()
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		work()
		runtime.ReadMemStats(&ms)
		if ms.Mallocs != before {
			n++
		}
	}
	return n
}

// TestHeaderDeletionKeepsValueOrder: fasthttp's Del moves the last header into the deleted
// one's place; the values of a repeated name still reach the other side in their order.
func TestHeaderDeletionKeepsValueOrder(t *testing.T) {
	var resp fasthttp.ResponseHeader
	for _, kv := range [][2]string{{"Keep-Alive", "timeout=5"}, {"Link", "<a>"}, {"X-Other", "o"}, {"Link", "<b>"},
		{"Upgrade", "h2c"}, {"Link", "<c>"}, {"Vary", "Accept"}} {
		resp.Add(kv[0], kv[1])
	}
	if err := stripResponseHeaders(&resp); err != nil {
		t.Fatal(err)
	}
	var links []string
	for k, v := range resp.All() {
		if string(k) == "Link" {
			links = append(links, string(v))
		}
	}
	if fmt.Sprint(links) != "[<a> <b> <c>]" || len(resp.Peek("Keep-Alive")) != 0 || string(resp.Peek("Vary")) != "Accept" {
		t.Fatalf("links %v, headers:\n%s", links, resp.Header())
	}
	var req fasthttp.RequestHeader
	for _, kv := range [][2]string{{"BT-API-KEY", "k"}, {"X-Dup", "1"}, {"X-Dup", "2"}, {"X-Z", "z"}, {"X-Dup", "3"}} {
		req.Add(kv[0], kv[1])
	}
	before := string(req.Header())
	// Repeated names: not edited in place (the caller copies instead), and left as they were.
	if ok, err := stripRequestHeaders(&req); ok || err != nil || string(req.Header()) != before {
		t.Fatalf("ok %v err %v, headers:\n%s", ok, err, req.Header())
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
			{"Proxy-Authenticate", "Basic"}, {"Upgrade", "h2c"}, {edge.HeaderDestinationStatus, "999"},
			{"X-Keep", "yes"}, {"Set-Cookie", "a=b"}} {
			h.Add(kv[0], kv[1])
		}
		if trailer {
			h.Add("Trailer", "X-T") // fasthttp's own Trailer bookkeeping allocates: not in the count below
		}
	}
	fill(true)
	if err := stripResponseHeaders(&h); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"X-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Trailer", edge.HeaderDestinationStatus, "Connection"} {
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
	if n := runsAllocating(func() { fill(false) }, func() { stripResponseHeaders(&h) }); n > 10 {
		t.Fatalf("response hygiene allocated in %d of 50 runs", n)
	}
}
