package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// Regression tests for attacks found in review; each is named after the attack.

func TestRejectBorrowedApplicationID(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	pci := e.token(e.adminKey, cardBody(pan))
	creator, creatorID := e.newApp("private", "proxy:create", "proxy:invoke")
	e.do("POST", "/proxies", creator, map[string]any{"name": "x", "destination_url": dest.url, "require_auth": false,
		"application_id": "admin"}).expectProblem(t, 400, false)
	px := e.do("POST", "/proxies", creator, map[string]any{"name": "x", "destination_url": dest.url, "require_auth": false}).expect(t, 201).json(t)
	if px["application_id"] != creatorID {
		t.Fatalf("proxy acts as %v, want its creator", px["application_id"])
	}
	// Anonymous calls act as the creator: limited to what it may do (here: no container rules, so
	// it may detokenize — but with the creator's identity, audited as such).
	e.do("POST", "/proxy", "", `{"n":"{{ `+pci+` }}"}`, "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
	evs := e.do("GET", "/logs?operation=detokenize&entity_id="+pci, e.adminKey, nil).expect(t, 200).json(t)["data"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["actor"] != creatorID {
		t.Fatalf("anonymous detokenization not attributed to the proxy's application: %v", evs)
	}
	// A creator restricted to /general/ lends no more than that: the token is unknown to it.
	limited := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "l", "type": "private",
		"permissions": []string{"proxy:create", "proxy:invoke"}, "containers": []string{"/general/"}}).expect(t, 201).json(t)
	lp := e.do("POST", "/proxies", limited["key"].(string), map[string]any{"name": "y", "destination_url": dest.url, "require_auth": false}).expect(t, 201).json(t)
	e.do("POST", "/proxy", "", `{"n":"{{ `+pci+` }}"}`, "BT-PROXY-KEY", lp["key"].(string)).expectProblem(t, 400, true)
}

func TestRejectVaultProxyByIDWithoutKey(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "open", "destination_url": dest.url, "require_auth": false}).expect(t, 201).json(t)
	e.do("POST", "/vault_proxy/"+px["id"].(string), "", "{}").expectProblem(t, 401, true)
	if len(dest.requests()) != 0 {
		t.Fatal("a proxy was invoked by its id alone")
	}
}

func TestRejectMaskChangeWithoutReveal(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	id := e.token(e.adminKey, cardBody(pan))
	updater, _ := e.newApp("private", "token:update", "token:read")
	r := e.do("PATCH", "/tokens/"+id, updater, map[string]any{"mask": map[string]any{"number": "{{ data.number }}"}})
	r.expectProblem(t, 403, false)
	e.do("PATCH", "/tokens/"+id, updater, map[string]any{"fingerprint_expression": "{{ data.number | slice: 6, 1 }}"}).expectProblem(t, 403, false)
	if strings.Contains(string(e.do("GET", "/tokens/"+id, updater, nil).body), pan) {
		t.Fatal("plaintext shown to a key without token:reveal")
	}
}

func TestRejectReadOutsideContainers(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	pci := e.token(e.adminKey, cardBody(pan))
	m := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "g", "type": "private",
		"permissions": []string{"token:reveal", "token:update", "token:delete", "token:create"}, "containers": []string{"/general/"}}).expect(t, 201).json(t)
	k := m["key"].(string)
	e.do("GET", "/tokens/"+pci, k, nil).expectProblem(t, 404, false)
	e.do("PATCH", "/tokens/"+pci, k, map[string]any{"containers": []string{"/general/"}}).expectProblem(t, 404, false)
	e.do("DELETE", "/tokens/"+pci, k, nil).expectProblem(t, 404, false)
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "containers": []string{"/pci/high/"}}).expectProblem(t, 403, false)
	own := e.token(k, map[string]any{"data": "mine"})
	e.do("GET", "/tokens/"+own, k, nil).expect(t, 200)
}

func TestRejectJITWhenEphemeralOff(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	off := false
	e := proxyEdge(t, dest, func(c *Config) { c.EphemeralProxy = &off })
	e.do("POST", "/vault_proxy/jit", e.adminKey, "{}", "x-fp-proxy-target-url", dest.url).expectProblem(t, 403, true)
	if len(dest.requests()) != 0 {
		t.Fatal("jit forwarded with ephemeral proxying off")
	}
}

// TestRejectJSONBreakoutWithMislabelledBody: a value meant to break out of its JSON string stays
// inside it whatever the case of the Content-Type, and when a JSON body is labelled text/plain.
func TestRejectJSONBreakoutWithMislabelledBody(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	evil := e.token(e.adminKey, map[string]any{"data": `x","admin":true,"y":"`})
	for _, ct := range []string{"Application/JSON", "APPLICATION/JSON; charset=utf-8", "application/vnd.api+json", "text/plain", ""} {
		e.do("POST", "/proxy", e.adminKey, `{"name":"{{ `+evil+` }}"}`, "BT-PROXY-URL", dest.url, "Content-Type", ct).expect(t, 200)
		var got map[string]any
		if err := json.Unmarshal(dest.last(t).body, &got); err != nil || len(got) != 1 || got["admin"] != nil {
			t.Fatalf("Content-Type %q: breakout %s", ct, dest.last(t).body)
		}
	}
}

// TestRejectExpansionBomb: a small body that names one big token many times is refused instead of
// rendering hundreds of megabytes.
func TestRejectExpansionBomb(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	big := e.token(e.adminKey, map[string]any{"data": strings.Repeat("A", 3<<20)})
	body := "[" + strings.TrimSuffix(strings.Repeat(`"{{ `+big+` }}",`, 40), ",") + "]"
	e.do("POST", "/vault_proxy/reflect", e.adminKey, body).expectProblem(t, 413, true)
	e.do("POST", "/proxy", e.adminKey, body, "BT-PROXY-URL", dest.url).expectProblem(t, 413, true)
	if len(dest.requests()) != 0 {
		t.Fatal("an expansion bomb was forwarded")
	}
}

func TestRejectCostlyMaskTransforms(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	for _, tr := range []map[string]any{
		{"type": "mask", "matcher": "regex", "expression": `(\d*)`},
		{"type": "mask", "matcher": "regex", "expression": `(\d)`, "replacement": strings.Repeat("*", 17)},
	} {
		e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "m", "destination_url": "https://example.com", "response_transforms": []any{tr}}).expectProblem(t, 400, false)
	}
}
