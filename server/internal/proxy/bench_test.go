package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHeaderHygiene: a proxied request's headers as a payment client sends them, stripped
// in place for the destination (BT-* and hop-by-hop headers dropped), and the destination's
// answer's headers checked: what every proxied request pays for header hygiene.
func BenchmarkHeaderHygiene(b *testing.B) {
	var req fasthttp.Request
	var resp fasthttp.Response
	b.ReportAllocs()
	for b.Loop() {
		req.Header.Reset()
		for _, kv := range [...][2]string{{"Host", "edge.example"}, {"User-Agent", "payments/1.0"},
			{"Accept", "application/json"}, {"Content-Type", "application/json"}, {"Content-Length", "1024"},
			{"BT-API-KEY", "key"}, {"BT-PROXY-KEY", "proxy"}, {"Idempotency-Key", "abc"}, {"X-Request-Id", "r1"}} {
			req.Header.Set(kv[0], kv[1])
		}
		if ok, err := stripRequestHeaders(&req.Header); !ok || err != nil {
			b.Fatal(ok, err)
		}
		resp.Header.Reset()
		for _, kv := range [...][2]string{{"Content-Type", "application/json"}, {"Date", "Tue, 24 Nov 2026 14:00:00 GMT"},
			{"Request-Id", "req_1"}, {"Cache-Control", "no-store"}, {"Connection", "keep-alive"}} {
			resp.Header.Set(kv[0], kv[1])
		}
		if err := stripResponseHeaders(&resp.Header); err != nil {
			b.Fatal(err)
		}
	}
}
