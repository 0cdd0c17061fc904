package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/proxy"
)

// TestMaskRegexWorkBounded: a mask expression whose program is large is refused when the proxy is
// saved, and one whose program times the body's size is over the budget gives up on that body
// (500 proxy_error, nothing unmasked) before running, instead of spending seconds per request
// ((.*a){20}: about 100 instructions over 4 MiB). A card-number mask still masks a whole
// buffered body.
func TestMaskRegexWorkBounded(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	maskProxy := func(expression string) *resp {
		return e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "m", "destination_url": dest.url,
			"response_transforms": []any{map[string]any{"type": "mask", "matcher": "regex", "expression": expression}}})
	}
	for _, expression := range []string{`(.{1,100}){10}`, `((a|b)*){100}x`} {
		if r := maskProxy(expression); r.status != 400 {
			t.Fatalf("%s: status %d, want 400: %s", expression, r.status, r.body)
		}
	}
	costly := maskProxy(`(.*a){20}`).expect(t, 201).json(t)["key"].(string)
	size := proxy.BufferLimit - 1024
	const maxMaskWork = 32 * proxy.BufferLimit // proxy's budget (maskregex.go)
	if insts := 102; int64(insts)*int64(size) <= maxMaskWork {
		t.Fatalf("the test body is within the budget")
	}
	r := e.do("GET", "/proxy/big/"+strconv.Itoa(size), e.adminKey, nil, "BT-PROXY-KEY", costly)
	if r.status != 500 || len(r.body) > 1024 || !strings.Contains(string(r.body), "too large for the mask") {
		t.Fatalf("costly mask over a %d-byte body: status %d, %d bytes: %.200s", size, r.status, len(r.body), r.body)
	}

	card := maskProxy(`"n":"\d{12}(\d{4})"`).expect(t, 201).json(t)["key"].(string)
	item := `{"n":"4111111111111111","pad":"` + strings.Repeat("x", 800) + `"},`
	body := `[` + strings.TrimSuffix(strings.Repeat(item, size/len(item)), ",") + `]`
	r = e.do("POST", "/proxy", e.adminKey, body, "BT-PROXY-KEY", card)
	if r.status != 200 || strings.Contains(string(r.body), "1111\"") || !strings.Contains(string(r.body), `"n":"411111111111****"`) {
		t.Fatalf("card mask over a %d-byte body: status %d: %.200s", len(body), r.status, r.body)
	}
}
