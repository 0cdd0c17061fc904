package server

import "testing"

// TestVaultProxyIdProbeWithoutKey: /vault_proxy/{id} needs an API key, and without one it told a
// known proxy id (401) from an unknown one (404) — and a stored proxy's destination error before
// any key. Without a key, or with a key that may not invoke proxies, every id answers the same.
func TestVaultProxyIdProbeWithoutKey(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": dest.url + "/status/200",
		"require_auth": false}).expect(t, 201).json(t)
	reader, _ := e.newApp("private", "token:read")
	for _, who := range []struct{ name, key string }{{"no key", ""}, {"key without proxy:invoke", reader}} {
		t.Run(who.name, func(t *testing.T) {
			known := e.do("POST", "/vault_proxy/"+px["id"].(string), who.key, `{}`)
			unknown := e.do("POST", "/vault_proxy/00000000-0000-4000-8000-000000000000", who.key, `{}`)
			if known.status != unknown.status || string(known.body) != string(unknown.body) {
				t.Fatalf("a known proxy id answers %d %s, an unknown one %d %s", known.status, known.body, unknown.status, unknown.body)
			}
			if known.status != 401 && known.status != 403 {
				t.Fatalf("status %d: %s", known.status, known.body)
			}
		})
	}
}
