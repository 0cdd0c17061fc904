package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/internal/testwasm"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/proxy"
)

// Attacks on the access rules (SPEC §3): a caller learns nothing about tokens it may not read,
// and grants nothing it does not hold.

// appWith creates an application with perms limited to containers and returns its key.
func (e *testEdge) appWith(typ string, containers []string, perms ...string) string {
	e.t.Helper()
	body := map[string]any{"name": "limited", "type": typ, "permissions": perms}
	if containers != nil {
		body["containers"] = containers
	}
	return e.do("POST", "/applications", e.adminKey, body).expect(e.t, 201).json(e.t)["key"].(string)
}

// TestDedupeRespectsContainers: a /general/-limited application and a public key probe whether a
// guessed PAN is vaulted in /pci/high/ with deduplicate_token. Neither gets the stored token, its
// expiry or its metadata: each gets a token of its own, as if there were no duplicate.
func TestDedupeRespectsContainers(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	const secretMeta, secretExpiry = "vaulted-by-pci-team", "2099-01-02T03:04:05Z"
	stored := cardBody(pan)
	stored["metadata"] = map[string]string{"owner": secretMeta}
	stored["expires_at"] = secretExpiry
	pciID := e.token(e.adminKey, stored)

	probe := func(containers ...string) map[string]any {
		b := cardBody(pan)
		b["deduplicate_token"] = true
		if containers != nil {
			b["containers"] = containers
		}
		return b
	}
	general := e.appWith("private", []string{"/general/"}, "token:create", "token:read")
	public := e.appWith("public", nil, "token:create")
	for _, tc := range []struct {
		name string
		key  string
		body map[string]any
	}{
		{"general app in its own container", general, probe("/general/")},
		{"public key in the PAN's container", public, probe()},
		{"public key naming the container", public, probe("/pci/high/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do("POST", "/tokens", tc.key, tc.body).expect(t, 201)
			m := got.json(t)
			if m["id"] == pciID || m["_extras"].(map[string]any)["deduplicated"] != false {
				t.Fatalf("the probe found the vaulted token: %s", got.body)
			}
			if s := string(got.body); strings.Contains(s, secretMeta) || strings.Contains(s, "2099-01-02") {
				t.Fatalf("the probe learnt the vaulted token's metadata or expiry: %s", s)
			}
		})
	}
	// The general app cannot place its probe in /pci/high/ at all: refused whether or not the PAN
	// is vaulted there.
	for _, number := range []string{pan, "4000056655665556"} {
		b := cardBody(number)
		b["deduplicate_token"] = true
		e.do("POST", "/tokens", general, b).expectProblem(t, 403, false)
	}
	// Control: a reader of /pci/ does find the vaulted token.
	reader := e.appWith("private", []string{"/pci/"}, "token:create", "token:read")
	m := e.do("POST", "/tokens", reader, probe()).expect(t, 201).json(t)
	if m["id"] != pciID || m["_extras"].(map[string]any)["deduplicated"] != true {
		t.Fatalf("a reader of /pci/ did not find the vaulted token: %v", m)
	}
}

// TestApplicationCannotGrantMoreThanItHolds: a key with application:* limited to /general/ tries
// to create, widen, take over or delete applications holding more than it does.
func TestApplicationCannotGrantMoreThanItHolds(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	manager := e.appWith("management", []string{"/general/"}, "application:create", "application:read",
		"application:update", "application:delete", "token:read", "token:create")
	app := func(containers []string, perms ...string) map[string]any {
		m := map[string]any{"name": "x", "type": "private", "permissions": perms}
		if containers != nil {
			m["containers"] = containers
		}
		return m
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"permission it lacks", app([]string{"/general/"}, "token:read", "token:reveal")},
		{"container outside its own", app([]string{"/pci/"}, "token:read")},
		{"a container sharing its name's start", app([]string{"/generalx/"}, "token:read")},
		{"every container", app(nil, "token:read")},
		{"one container of two outside", app([]string{"/general/a/", "/pci/high/"}, "token:read")},
	} {
		t.Run("create with "+tc.name, func(t *testing.T) {
			e.do("POST", "/applications", manager, tc.body).expectProblem(t, 403, false)
		})
	}
	// Within its own grant it may create, narrower or equal.
	sub := e.do("POST", "/applications", manager, app([]string{"/general/a/"}, "token:read")).expect(t, 201).json(t)
	subID := sub["id"].(string)
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"a permission it lacks", map[string]any{"permissions": []string{"token:read", "token:reveal"}}},
		{"a container outside its own", map[string]any{"containers": []string{"/pci/"}}},
		{"every container", map[string]any{"containers": []string{}}},
	} {
		t.Run("update to "+tc.name, func(t *testing.T) {
			e.do("PUT", "/applications/"+subID, manager, tc.body).expectProblem(t, 403, false)
		})
	}
	got := e.do("GET", "/applications/"+subID, e.adminKey, nil).expect(t, 200).json(t)
	if len(got["permissions"].([]any)) != 1 || len(got["containers"].([]any)) != 1 || got["containers"].([]any)[0] != "/general/a/" {
		t.Fatalf("a refused update changed the application: %v", got)
	}
	e.do("PUT", "/applications/"+subID, manager, map[string]any{"name": "renamed", "containers": []string{"/general/b/"}}).expect(t, 200)

	// An application holding more than the manager cannot be changed (taken over) or deleted by it.
	strong := e.do("POST", "/applications", e.adminKey, app([]string{"/general/"}, "token:read", "token:reveal")).expect(t, 201).json(t)
	strongID := strong["id"].(string)
	e.do("PUT", "/applications/"+strongID, manager, map[string]any{"name": "mine now"}).expectProblem(t, 403, false)
	e.do("PUT", "/applications/"+strongID, manager, map[string]any{"permissions": []string{"token:read"}}).expectProblem(t, 403, false)
	e.do("DELETE", "/applications/"+strongID, manager, nil).expectProblem(t, 403, false)
	if got := e.do("GET", "/applications/"+strongID, e.adminKey, nil).expect(t, 200).json(t); got["name"] != "x" {
		t.Fatalf("a refused update changed the application: %v", got)
	}
	e.do("DELETE", "/applications/"+subID, manager, nil).expect(t, 204)
	// The admin key holds all.
	e.do("POST", "/applications", e.adminKey, app(nil, "token:reveal", "application:create")).expect(t, 201)
}

// TestNoExistenceOracle: a key limited to /general/ names a token vaulted in /pci/high/ and an
// id that was never vaulted, on every route that takes a token id. The two answers are the same:
// status, headers and body (with the id normalised). Nothing reaches the destination.
func TestNoExistenceOracle(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	hidden := e.token(e.adminKey, cardBody(pan)) // /pci/high/
	unknown := edge.NewID()                      // the same shape, never vaulted
	key := e.appWith("private", []string{"/general/"}, "token:read", "token:reveal", "token:update",
		"token:delete", "token:create", "proxy:invoke", "proxy:create")
	px := e.do("POST", "/proxies", key, map[string]any{"name": "open", "destination_url": dest.url,
		"require_auth": false}).expect(t, 201).json(t)
	pxID, pxKey := px["id"].(string), px["key"].(string)
	body := func(id string) string { return `{"n":"{{ ` + id + ` }}"}` }
	// Over the whole-body limit the body streams and each token is fetched when it is reached
	// (here at the end, so that the edge has read the whole body when it answers).
	streamed := func(id string) string { return strings.Repeat(" ", proxy.BufferLimit) + body(id) }

	for _, tc := range []struct {
		name string
		send func(e *testEdge, id string) *resp
	}{
		{"GET /tokens/{id}", func(e *testEdge, id string) *resp { return e.do("GET", "/tokens/"+id, key, nil) }},
		{"PATCH /tokens/{id}", func(e *testEdge, id string) *resp {
			return e.do("PATCH", "/tokens/"+id, key, map[string]any{"metadata": map[string]string{"a": "b"}})
		}},
		{"PATCH /tokens/{id} moving it", func(e *testEdge, id string) *resp {
			return e.do("PATCH", "/tokens/"+id, key, map[string]any{"containers": []string{"/general/"}})
		}},
		{"DELETE /tokens/{id}", func(e *testEdge, id string) *resp { return e.do("DELETE", "/tokens/"+id, key, nil) }},
		{"/proxy body", func(e *testEdge, id string) *resp {
			return e.do("POST", "/proxy", key, body(id), "BT-PROXY-URL", dest.url)
		}},
		{"/proxy streamed body", func(e *testEdge, id string) *resp {
			return e.do("POST", "/proxy", key, streamed(id), "BT-PROXY-URL", dest.url)
		}},
		{"/proxy header", func(e *testEdge, id string) *resp {
			return e.do("POST", "/proxy", key, "{}", "BT-PROXY-URL", dest.url, "X-Card", "{{ "+id+" }}")
		}},
		{"/proxy query", func(e *testEdge, id string) *resp {
			return e.do("POST", "/proxy?c=%7B%7B%20"+id+"%20%7D%7D", key, "{}", "BT-PROXY-URL", dest.url)
		}},
		{"/proxy token object", func(e *testEdge, id string) *resp {
			return e.do("POST", "/proxy", key, `{"n":"{{ token: `+id+` | json: '$.data.number' }}"}`, "BT-PROXY-URL", dest.url)
		}},
		{"/proxy pre-configured, anonymous", func(e *testEdge, id string) *resp {
			return e.do("POST", "/proxy", "", body(id), "BT-PROXY-KEY", pxKey)
		}},
		{"/vault_proxy/{id}", func(e *testEdge, id string) *resp { return e.do("POST", "/vault_proxy/"+pxID, key, body(id)) }},
		{"/vault_proxy/jit", func(e *testEdge, id string) *resp {
			return e.do("POST", "/vault_proxy/jit", key, body(id), "x-fp-proxy-target-url", dest.url)
		}},
		{"/vault_proxy/jit streamed body", func(e *testEdge, id string) *resp {
			return e.do("POST", "/vault_proxy/jit", key, streamed(id), "x-fp-proxy-target-url", dest.url)
		}},
		{"/vault_proxy/reflect", func(e *testEdge, id string) *resp { return e.do("POST", "/vault_proxy/reflect", key, body(id)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se := *e
			se.t = t
			h, u := tc.send(&se, hidden), tc.send(&se, unknown)
			if h.status < 400 {
				t.Fatalf("the token outside the key's containers was used: %d %s", h.status, h.body)
			}
			if h.status != u.status {
				t.Fatalf("status %d for the hidden token, %d for an unknown one", h.status, u.status)
			}
			hb := strings.ReplaceAll(string(h.body), hidden, "ID")
			ub := strings.ReplaceAll(string(u.body), unknown, "ID")
			if hb != ub {
				t.Fatalf("bodies differ:\nhidden:  %s\nunknown: %s", hb, ub)
			}
			if hh, uh := headersBut(h.header), headersBut(u.header); hh != uh {
				t.Fatalf("headers differ:\nhidden:  %s\nunknown: %s", hh, uh)
			}
		})
	}
	for _, r := range dest.requests() {
		if strings.Contains(string(r.body), pan) || strings.Contains(r.query, pan) || strings.Contains(fmt.Sprint(r.header), pan) {
			t.Fatal("the hidden token's plaintext reached the destination")
		}
	}
	if got := e.do("GET", "/tokens/"+hidden, e.adminKey, nil).expect(t, 200).json(t); len(got["metadata"].(map[string]any)) != 0 {
		t.Fatalf("the hidden token was changed: %v", got)
	}
}

// headersBut renders h without the headers that differ from request to request.
func headersBut(h http.Header) string {
	h = h.Clone()
	h.Del("Date")
	h.Del("X-Request-Id")
	h.Del("Bt-Trace-Id")
	return fmt.Sprint(h)
}

// TestRejectTokenizeTransformOutsideContainers: a key limited to /general/ cannot vault a token
// in /pci/high/ through a proxy's tokenize transform or a Footprint ingress rule.
func TestRejectTokenizeTransformOutsideContainers(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	key := e.appWith("private", []string{"/general/"}, "token:create", "proxy:invoke")
	tokenize := func(location string, containers ...string) any {
		tpl := map[string]any{"type": "card_number"}
		if containers != nil {
			tpl["containers"] = containers
		}
		return map[string]any{"type": "tokenize", "options": map[string]any{"location": location, "token": tpl}}
	}
	reqSide := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "req", "destination_url": dest.url,
		"request_transforms": []any{tokenize("$.n")}}).expect(t, 201).json(t)["key"].(string)
	respSide := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "resp", "destination_url": dest.url,
		"response_transforms": []any{tokenize("$.n", "/pci/high/")}}).expect(t, 201).json(t)["key"].(string)
	created := func() int {
		return len(e.do("GET", "/logs?entity_type=token&operation=create&size=100", e.adminKey, nil).expect(t, 200).json(t)["data"].([]any))
	}
	before := created()
	e.do("POST", "/proxy", key, `{"n":"`+pan+`"}`, "BT-PROXY-KEY", reqSide).expectProblem(t, 403, true)
	if len(dest.requests()) != 0 {
		t.Fatal("forwarded after a refused tokenize")
	}
	answer := `{"n":"` + pan + `"}`
	for name, r := range map[string]*resp{
		"response transform": e.do("POST", "/proxy/json", key, "{}", "BT-PROXY-KEY", respSide, "X-Answer", answer),
		"ingress rule": e.do("POST", "/vault_proxy/jit", key, "{}", "x-fp-proxy-target-url", dest.url+"/json",
			"x-fp-proxy-fwd-X-Answer", answer, "x-fp-proxy-ingress-rule", "card_number=$.n", "x-fp-proxy-ingress-content-type", "json"),
	} {
		if r.expectProblem(t, 403, true); strings.Contains(string(r.body), pan) {
			t.Fatalf("%s: the PAN reached the caller: %s", name, r.body)
		}
	}
	// A guest's tokenize (vault-response vaults $.account.number as a /bank/high/ token).
	guest := e.wasmProxy(dest, e.upload(e.adminKey, testwasm.Example(t, "vault-response")), true, nil)
	const account = "000123456789"
	r := e.do("POST", "/proxy/json", key, "{}", "BT-PROXY-KEY", guest, "X-Answer", `{"account":{"number":"`+account+`"}}`)
	if r.status < 400 || strings.Contains(string(r.body), account) {
		t.Fatalf("guest tokenize outside the key's containers: %d %s", r.status, r.body)
	}
	if n := created(); n != before {
		t.Fatalf("%d tokens created outside the key's containers", n-before)
	}
}
