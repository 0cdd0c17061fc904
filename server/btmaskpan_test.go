package server

import "testing"

// TestBTChaseStratusPANMaskThroughTLS: a response mask with Basis Theory's chase_stratus_pan
// matcher hides every card number in a fixed-width answer from a TLS destination (it echoes the request) — whole, each
// digit replaced — and leaves other digit runs (amounts, dates, a 16-digit non-Luhn reference)
// as they were. A mask with an expression is refused at create.
func TestBTChaseStratusPANMaskThroughTLS(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	px := e.btProxy(t, dest, map[string]any{
		"response_transforms": []any{map[string]any{"type": "mask", "matcher": "chase_stratus_pan", "replacement": "X"}},
	})
	answer := "P4242424242424242 0412 000001999 REF1234567890123456 5555555555554444"
	r := e.do("POST", "/proxy/stratus", e.adminKey, answer, "BT-PROXY-KEY", px["key"].(string), "Content-Type", "text/plain").expect(t, 200)
	want := "PXXXXXXXXXXXXXXXX 0412 000001999 REF1234567890123456 XXXXXXXXXXXXXXXX"
	if string(r.body) != want {
		t.Fatalf("answer %q, want %q", r.body, want)
	}
	e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "bad", "destination_url": dest.url,
		"response_transforms": []any{map[string]any{"type": "mask", "matcher": "chase_stratus_pan", "expression": "(\\d+)"}},
	}).expect(t, 400)
}
