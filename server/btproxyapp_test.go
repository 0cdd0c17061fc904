package server

import (
	"testing"
)

// A proxy's Basis Theory "application": {"id"} — the proxy detokenizes and tokenizes as that
// application, whoever invokes it.

// TestRejectProxyBorrowingStrongerApplication: a proxy:create holder restricted to /general/
// names an unrestricted application (or the admin) so that its proxy would detokenize what the
// holder cannot: refused, nothing created, and a PATCH cannot smuggle the application in either.
func TestRejectProxyBorrowingStrongerApplication(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	strong := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "strong", "type": "private",
		"permissions": []string{"token:use", "token:create"}}).expect(t, 201).json(t)
	weak := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "weak", "type": "private",
		"permissions": []string{"proxy:create", "proxy:update", "proxy:read", "proxy:invoke", "token:use"}, "containers": []string{"/general/"}}).expect(t, 201).json(t)
	wk := weak["key"].(string)
	for _, c := range []struct {
		name string
		app  map[string]any
		want int
	}{
		{"unrestricted application", map[string]any{"id": strong["id"]}, 403},
		{"the admin", map[string]any{"id": "admin"}, 400},
		{"no such application", map[string]any{"id": "00000000-0000-4000-8000-000000000000"}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.do("POST", "/proxies", wk, map[string]any{"name": "borrow", "destination_url": dest.url, "application": c.app}).expectProblem(t, c.want, false)
		})
	}
	if n := len(e.do("GET", "/proxies", e.adminKey, nil).expect(t, 200).json(t)["data"].([]any)); n != 0 {
		t.Fatalf("%d proxies created by refused requests", n)
	}
	own := e.do("POST", "/proxies", wk, map[string]any{"name": "own", "destination_url": dest.url}).expect(t, 201).json(t)
	e.do("PATCH", "/proxies/"+own["id"].(string), wk, `{"application":{"id":"`+strong["id"].(string)+`"}}`,
		"Content-Type", "application/merge-patch+json").expectProblem(t, 403, false)
	if got := e.do("GET", "/proxies/"+own["id"].(string), e.adminKey, nil).expect(t, 200).json(t); got["application"] != nil {
		t.Fatalf("a refused PATCH named an application: %v", got["application"])
	}
}

// TestProxyActsAsItsApplication: a proxy that names an application detokenizes with that
// application's rules even when the admin invokes it: a token outside the application's
// containers is unknown to it (400, nothing forwarded), one inside is detokenized and audited as
// the application; the answer shows application_id, and a weaker updater cannot retarget it.
func TestProxyActsAsItsApplication(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	pci := e.token(k, cardBody(pan))
	general := e.token(k, map[string]any{"data": "g-secret", "containers": []string{"/general/"}})
	app := e.do("POST", "/applications", k, map[string]any{"name": "general", "type": "private",
		"permissions": []string{"token:use"}, "containers": []string{"/general/"}}).expect(t, 201).json(t)
	px := e.do("POST", "/proxies", k, map[string]any{"name": "acts", "destination_url": dest.url, "application": map[string]any{"id": app["id"]}}).expect(t, 201).json(t)
	if px["application_id"] != app["id"] || px["state"] != "active" || px["tenant_id"] == nil {
		t.Fatalf("answer %v", px)
	}
	key := px["key"].(string)
	n := len(dest.requests())
	e.do("POST", "/proxy", k, `{"n":"{{ `+pci+` }}"}`, "BT-PROXY-KEY", key).expectProblem(t, 400, true)
	if len(dest.requests()) != n {
		t.Fatal("forwarded a token outside the proxy's application's containers")
	}
	e.do("POST", "/proxy", k, `{"g":"{{ `+general+` }}"}`, "BT-PROXY-KEY", key).expect(t, 200)
	if b := string(dest.last(t).body); b != `{"g":"g-secret"}` {
		t.Fatalf("destination got %s", b)
	}
	evs := e.do("GET", "/logs?operation=detokenize&entity_id="+general, k, nil).expect(t, 200).json(t)["data"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["actor"] != app["id"] {
		t.Fatalf("detokenization not attributed to the proxy's application: %v", evs)
	}
	// Without the application the admin's proxy detokenizes as its caller: the PCI token works.
	plain := e.do("POST", "/proxies", k, map[string]any{"name": "plain", "destination_url": dest.url}).expect(t, 201).json(t)
	e.do("POST", "/proxy", k, `{"n":"{{ `+pci+` }}"}`, "BT-PROXY-KEY", plain["key"].(string)).expect(t, 200)
	// An updater that could not name the application cannot change the proxy that acts as it
	// (e.g. point it at a destination of its own).
	updater := e.do("POST", "/applications", k, map[string]any{"name": "upd", "type": "private",
		"permissions": []string{"proxy:update"}, "containers": []string{"/other/"}}).expect(t, 201).json(t)
	e.do("PATCH", "/proxies/"+px["id"].(string), updater["key"].(string), `{"destination_url":"`+dest.url+`/elsewhere"}`,
		"Content-Type", "application/merge-patch+json").expectProblem(t, 403, false)
}
