package server

import (
	"strconv"
	"strings"
	"testing"
)

// TestNoPlaintextLengthOracleFromSizeCap: the size cap on a detokenized header is charged before
// the value is read, from the size of the document the expression reads. Charged at the exact
// size, `{{ id | pad_left: 4096, 'x' | pad_right: K, 'x' }}` is forwarded up to a K that moves one
// for one with that size: a binary search over K (about 12 requests) gave a card's PAN length
// and cvc, a secret's exact length, or a proxy configuration value's length. Through real
// sockets, with a proxy:invoke key and anonymously through a require_auth:false proxy, the
// largest K forwarded is the same for every value.
func TestNoPlaintextLengthOracleFromSizeCap(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest, func(c *Config) { c.RateLimits.AnonymousRequests = 1 << 20 })
	invoker, _ := e.newApp("private", "proxy:invoke")
	cards := []string{e.token(e.adminKey, cardBody("378282246310005")), e.token(e.adminKey, cardBody("4111111111111111"))}
	secrets := []string{e.token(e.adminKey, map[string]any{"data": "s3cr3t"}), e.token(e.adminKey, map[string]any{"data": strings.Repeat("s", 150)})}
	var proxyKeys []string
	for i, v := range []string{"k", strings.Repeat("k", 64)} {
		px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "len" + strconv.Itoa(i), "destination_url": dest.url + "/status/200",
			"require_auth": false, "configuration": map[string]string{"S": v}}).expect(t, 201).json(t)
		proxyKeys = append(proxyKeys, px["key"].(string))
	}

	// largestPadForwarded binary-searches the largest K for which the probe over src reaches the
	// destination, as the attacker would.
	largestPadForwarded := func(src string, hdr ...string) int {
		lo, hi := -1, 4097
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			before := len(dest.requests())
			probe := "{{ " + src + " | pad_left: 4096, 'x' | pad_right: " + strconv.Itoa(mid) + ", 'x' }}"
			r := e.do("POST", "/proxy", "", `{}`, append(hdr, "X-Probe", probe)...)
			if len(dest.requests()) > before {
				lo = mid
			} else if r.status != 413 {
				t.Fatalf("probe K=%d: %d %s", mid, r.status, r.body)
			} else {
				hi = mid
			}
		}
		return lo
	}
	same := func(who string, got []int) {
		t.Helper()
		for _, g := range got[1:] {
			if g != got[0] {
				t.Errorf("%s: the largest pad forwarded depends on the value's length: %v", who, got)
				return
			}
		}
	}
	eph := []string{"BT-API-KEY", invoker, "BT-PROXY-URL", dest.url + "/status/200"}
	for _, set := range []struct {
		who string
		ids []string
	}{{"proxy:invoke key, PANs of 15 and 16 digits", cards}, {"proxy:invoke key, secrets", secrets}} {
		var got []int
		for _, id := range set.ids {
			got = append(got, largestPadForwarded(id, eph...))
		}
		same(set.who, got)
	}
	var anon []int
	for _, id := range cards {
		anon = append(anon, largestPadForwarded(id+".number", "BT-PROXY-KEY", proxyKeys[0]))
	}
	same("anonymous, PANs", anon)
	var cfg []int
	for _, k := range proxyKeys {
		cfg = append(cfg, largestPadForwarded("config: S", "BT-PROXY-KEY", k))
	}
	same("anonymous, configuration secrets", cfg)
}
