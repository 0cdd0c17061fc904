package server

import (
	"runtime"
	"strings"
	"testing"
)

// allocatedBy returns the bytes the process allocated while f ran (the edge runs in this process;
// the tests of this package do not run in parallel).
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestFilterAmplificationBounded: a short expression that doubles a padded value again and again
// (pad_left: 4096 then to_base16 twelve times: 16 MiB from a 190-byte header) is refused before
// any of it is built — in a proxied header or body — and a token mask or fingerprint expression of
// that shape is refused when the token is created, so no GET of the token can be made to render
// megabytes.
func TestFilterAmplificationBounded(t *testing.T) {
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	tok := e.token(e.adminKey, map[string]any{"data": pan})
	chain := func(src string, n int) string {
		return "{{ " + src + " | pad_left: 4096, 'x'" + strings.Repeat(" | to_base16", n) + " }}"
	}
	// Within the static bound (16 KiB built from last4) but far over a header's 8 KiB.
	small := "{{ " + tok + " | last4 | pad_left: 4096, 'x' | to_base16 | to_base16 }}"
	const budget = 4 << 20 // allocated per refused request; building the value takes > 32 MiB

	t.Run("proxy", func(t *testing.T) {
		for _, c := range []struct {
			name, in, expr string
		}{
			{"header over the static bound", "header", chain(tok, 12)},
			{"body over the static bound", "body", chain(tok, 12)},
			{"header over its size limit", "header", small},
		} {
			before := len(dest.requests())
			var r *resp
			n := allocatedBy(func() {
				if c.in == "header" {
					r = e.do("POST", "/proxy", e.adminKey, `{}`, "BT-PROXY-URL", dest.url, "X-Amp", c.expr)
				} else {
					r = e.do("POST", "/proxy", e.adminKey, `{"a":"`+c.expr+`"}`, "BT-PROXY-URL", dest.url)
				}
			})
			if r.status != 413 || len(r.body) > 1024 {
				t.Errorf("%s: status %d, %d bytes: %.200s", c.name, r.status, len(r.body), r.body)
			}
			if len(dest.requests()) != before {
				t.Errorf("%s: forwarded", c.name)
			}
			if n > budget {
				t.Errorf("%s: %d bytes allocated to refuse it", c.name, n)
			}
		}
	})

	t.Run("stored mask", func(t *testing.T) {
		for _, m := range []string{
			chain("data", 12),
			chain("data | last4", 5), // 128 KiB from 4 characters: within the static bound, not a view
		} {
			for _, r := range []*resp{
				e.do("POST", "/tokens", e.adminKey, map[string]any{"data": pan, "mask": m}),
				e.do("POST", "/tokens", e.adminKey, map[string]any{"data": pan, "fingerprint_expression": m}),
				e.do("PATCH", "/tokens/"+tok, e.adminKey, map[string]any{"mask": m}, "Content-Type", "application/merge-patch+json"),
			} {
				if r.status != 400 || len(r.body) > 1024 {
					t.Fatalf("%s: status %d, %d bytes: %.200s", m, r.status, len(r.body), r.body)
				}
			}
		}
		// A mask that shows the data stays possible, and its GET stays the data's size.
		masked := e.token(e.adminKey, map[string]any{"data": pan, "mask": "{{ data | reveal_last: 4 }}"})
		reader, _ := e.newApp("private", "token:read")
		r := e.do("GET", "/tokens/"+masked, reader, nil).expect(t, 200)
		if d := r.json(t)["data"]; d != "XXXXXXXXXXXX1111" || len(r.body) > 2048 {
			t.Fatalf("masked read: %v (%d bytes)", d, len(r.body))
		}
	})
}
