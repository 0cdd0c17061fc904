package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestVaultProxyJIT(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, cardBody(pan))
	key, _ := e.newApp("private", "proxy:invoke")
	body := `{"number":"{{ ` + id + `.number }}","exp":"{{ ` + id + `.expiration_month | to_string | pad_left(2, '0') }}"}`
	r := e.do("POST", "/vault_proxy/jit", "", body,
		"X-Footprint-Secret-Key", key,
		"x-fp-proxy-target-url", dest.url+"/charge?a=1",
		"x-fp-proxy-method", "PUT",
		"x-fp-proxy-fwd-Authorization", "Bearer processor-token",
		"x-fp-proxy-fwd-X-Idempotency", "abc",
		"x-fp-other", "not forwarded",
		"X-Not-Forwarded", "no")
	r.expect(t, 200)
	got := dest.last(t)
	if got.method != "PUT" || got.path != "/charge" || got.query != "a=1" {
		t.Fatalf("jit request: %s %s %s", got.method, got.path, got.query)
	}
	if got.header.Get("Authorization") != "Bearer processor-token" || got.header.Get("X-Idempotency") != "abc" {
		t.Fatalf("forwarded headers: %v", got.header)
	}
	for name := range got.header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-fp-") || l == "x-footprint-secret-key" || l == "x-not-forwarded" || strings.HasPrefix(l, "bt-") {
			t.Fatalf("%s was forwarded", name)
		}
	}
	var sent map[string]string
	if err := json.Unmarshal(got.body, &sent); err != nil || sent["number"] != pan || sent["exp"] != "12" {
		t.Fatalf("jit body %s (%v)", got.body, err)
	}
	// Method defaults to POST; the target is required; auth is required.
	e.do("POST", "/vault_proxy/jit", "", "x", "X-Footprint-Secret-Key", key, "x-fp-proxy-target-url", dest.url).expect(t, 200)
	if dest.last(t).method != "POST" {
		t.Fatal("default method is not POST")
	}
	e.do("POST", "/vault_proxy/jit", "", "x", "X-Footprint-Secret-Key", key).expectProblem(t, 400, true)
	e.do("POST", "/vault_proxy/jit", "", "x", "x-fp-proxy-target-url", dest.url).expectProblem(t, 401, true)
	// An unresolved token is a hard error; nothing forwarded.
	n := len(dest.requests())
	e.do("POST", "/vault_proxy/jit", "", `{"a":"{{ nope.number }}"}`, "X-Footprint-Secret-Key", key, "x-fp-proxy-target-url", dest.url).expectProblem(t, 400, true)
	if len(dest.requests()) != n {
		t.Fatal("forwarded with an unresolved token")
	}
	// Destination 5xx → 502 with the upstream status (and its headers and body:
	// TestFootprintUpstreamStatusOnEveryAnswer).
	r = e.do("POST", "/vault_proxy/jit", "", "x", "X-Footprint-Secret-Key", key, "x-fp-proxy-target-url", dest.url+"/status/503")
	r.expect(t, 502)
	if r.header.Get("x-footprint-proxy-upstream-status-code") != "503" {
		t.Fatalf("upstream status header: %v", r.header)
	}
	assertNoSecrets(t, e.logText(), pan, key)
}

func TestVaultProxyByID(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, map[string]any{"data": map[string]any{"ssn": "123-45-6789"}})
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "bureau", "destination_url": dest.url + "/bureau"}).expect(t, 201).json(t)
	e.do("POST", "/vault_proxy/"+px["id"].(string), e.adminKey, `{"s":"{{ `+id+`.ssn | remove: '-' }}"}`).expect(t, 200)
	if got := dest.last(t); got.path != "/bureau" || string(got.body) != `{"s":"123456789"}` {
		t.Fatalf("vault_proxy/{id}: %s %s", got.path, got.body)
	}
	e.do("POST", "/vault_proxy/no-such-proxy", e.adminKey, "x").expectProblem(t, 404, true)
	e.do("GET", "/vault_proxy/jit", e.adminKey, nil).expectProblem(t, 405, true)
}

func TestVaultProxyReflectLimits(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k := e.adminKey
	// 1001 tokens, created by /tokenize in batches (a request each costs a thousand fsyncs).
	var ids []string
	for len(ids) < 1001 {
		data := make([]string, min(100, 1001-len(ids))) // within a test-scale memtable's transaction
		for i := range data {
			data[i] = fmt.Sprintf("r%04d", len(ids)+i)
		}
		var batch []string
		if err := json.Unmarshal(e.do("POST", "/tokenize", k, data).expect(t, 200).body, &batch); err != nil || len(batch) != len(data) {
			t.Fatalf("tokenize: %v %d", err, len(batch))
		}
		ids = append(ids, batch...)
	}
	body := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `"{{ ` + ids[i] + ` }}"`
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	r := e.do("POST", "/vault_proxy/reflect", k, body(1000)).expect(t, 200)
	var out []string
	if err := json.Unmarshal(r.body, &out); err != nil || len(out) != 1000 || out[999] != "r0999" {
		t.Fatalf("reflect: %v %d", err, len(out))
	}
	e.do("POST", "/vault_proxy/reflect", k, body(1001)).expectProblem(t, 400, true)
	e.do("POST", "/vault_proxy/reflect", k, `"`+strings.Repeat("x", 5<<20)+`"`).expectProblem(t, 413, true)
	// Reflect reveals: it needs token:reveal and is audited as a reveal.
	invoker, _ := e.newApp("private", "proxy:invoke")
	e.do("POST", "/vault_proxy/reflect", "", body(1), "X-Footprint-Secret-Key", invoker).expectProblem(t, 403, true)
	evs := e.do("GET", "/logs?operation=reveal&entity_id="+ids[0], k, nil).expect(t, 200).json(t)["data"].([]any)
	if len(evs) != 1 {
		t.Fatalf("%d reveal records for one reflected token", len(evs))
	}
}

func TestVaultProxyIngress(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	answer := `{"card":{"number":"5555555555554444","brand":"mc"},"ssn":"123-45-6789","other":"untouched"}`
	r := e.do("POST", "/vault_proxy/jit", k, "{}", "x-fp-proxy-target-url", dest.url+"/json", "x-fp-proxy-fwd-X-Answer", answer,
		"x-fp-proxy-ingress-rule", "card_number=$.card.number, social_security_number=$.ssn",
		"x-fp-proxy-ingress-content-type", "json").expect(t, 200)
	var out struct {
		Card  struct{ Number, Brand string }
		SSN   string `json:"ssn"`
		Other string
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("%s", r.body)
	}
	if out.Card.Number == "5555555555554444" || out.SSN == "123-45-6789" || out.Other != "untouched" || out.Card.Brand != "mc" {
		t.Fatalf("ingress: %s", r.body)
	}
	if v := e.do("GET", "/tokens/"+out.Card.Number, k, nil).expect(t, 200).json(t); v["data"] != "5555555555554444" || v["type"] != "card_number" {
		t.Fatalf("vaulted card %v", v)
	}
	if v := e.do("GET", "/tokens/"+out.SSN, k, nil).expect(t, 200).json(t); v["data"] != "123-45-6789" {
		t.Fatalf("vaulted ssn %v", v)
	}
	// Skipped on a non-2xx answer.
	r = e.do("POST", "/vault_proxy/jit", k, "{}", "x-fp-proxy-target-url", dest.url+"/json", "x-fp-proxy-fwd-X-Answer", answer,
		"x-fp-proxy-fwd-X-Status", "404", "x-fp-proxy-ingress-rule", "card_number=$.card.number", "x-fp-proxy-ingress-content-type", "json")
	if r.expect(t, 404); string(r.body) != answer {
		t.Fatalf("ingress ran on a 404: %s", r.body)
	}
	// Rules without the content type, or malformed.
	e.do("POST", "/vault_proxy/jit", k, "{}", "x-fp-proxy-target-url", dest.url, "x-fp-proxy-ingress-rule", "card_number=$.a").expectProblem(t, 400, true)
	e.do("POST", "/vault_proxy/jit", k, "{}", "x-fp-proxy-target-url", dest.url, "x-fp-proxy-ingress-rule", "nonsense", "x-fp-proxy-ingress-content-type", "json").expectProblem(t, 400, true)
}
