package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fpUser is a Footprint-style vault: flat field identifiers as keys, and one nested object.
var fpUser = map[string]any{"data": map[string]any{
	"id.first_name":       "Jane",
	"card.primary.number": pan,
	"id":                  map[string]any{"first_name": "Shadowed", "last_name": "Doe"},
}}

// TestFootprintDefaultVaultFieldResolution: with x-fp-id, {{ id.first_name }} reads that token;
// flat keys win over nested paths; a missing field is a 400 naming it and nothing is forwarded
// (Sluice used to render it as an empty string and forward the request).
func TestFootprintDefaultVaultFieldResolution(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	user := e.token(k, fpUser)
	tests := []struct {
		name    string
		header  string // the header naming the default token, "" for none
		body    string
		want    string // what reaches the destination
		missing string // the field the 400 must name; nothing may be forwarded
	}{
		{name: "x-fp-id flat key", header: "x-fp-id", body: `{"n":"{{ id.first_name }}"}`, want: `{"n":"Jane"}`},
		{name: "legacy header flat key", header: "x-fp-proxy-footprint-token", body: `{"c":"{{ card.primary.number | suffix(4) }}"}`, want: `{"c":"1111"}`},
		{name: "x-fp-id nested path", header: "x-fp-id", body: `{"l":"{{ id.last_name }}"}`, want: `{"l":"Doe"}`},
		{name: "explicit token flat key", body: `{"n":"{{ ` + user + `.id.first_name }}"}`, want: `{"n":"Jane"}`},
		{name: "explicit token nested path", body: `{"l":"{{ ` + user + `.id.last_name }}"}`, want: `{"l":"Doe"}`},
		{name: "x-fp-id missing field", header: "x-fp-id", body: `{"s":"{{ id.ssn9 }}"}`, missing: "id.ssn9"},
		{name: "explicit token missing field", body: `{"s":"{{ ` + user + `.id.dob }}"}`, missing: "id.dob"},
		{name: "missing field in a filter chain", header: "x-fp-id", body: `{"s":"{{ card.primary.cvc | to_ascii }}"}`, missing: "card.primary.cvc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"x-fp-proxy-target-url", dest.url + "/fp"}
			if tc.header != "" {
				hdr = append(hdr, tc.header, user)
			}
			before := len(dest.requests())
			r := e.do("POST", "/vault_proxy/jit", k, tc.body, hdr...)
			if tc.missing != "" {
				r.expectProblem(t, 400, true)
				if !strings.Contains(string(r.body), `\"`+tc.missing+`\"`) {
					t.Fatalf("the 400 does not name %q: %s", tc.missing, r.body)
				}
				if len(dest.requests()) != before {
					t.Fatal("a request with a missing field was forwarded")
				}
				return
			}
			r.expect(t, 200)
			if got := string(dest.last(t).body); got != tc.want {
				t.Fatalf("forwarded %s, want %s", got, tc.want)
			}
		})
	}
	// Without x-fp-id, a Footprint identifier is no token; a malformed x-fp-id is refused.
	e.do("POST", "/vault_proxy/jit", k, `{"n":"{{ id.first_name }}"}`, "x-fp-proxy-target-url", dest.url).expectProblem(t, 400, true)
	e.do("POST", "/vault_proxy/jit", k, `{}`, "x-fp-proxy-target-url", dest.url, "x-fp-id", "not a token!").expectProblem(t, 400, true)
	// Reflect follows the same rules.
	r := e.do("POST", "/vault_proxy/reflect", k, `{"n":"{{ id.first_name }}"}`, "x-fp-id", user).expect(t, 200)
	if string(r.body) != `{"n":"Jane"}` {
		t.Fatalf("reflect %s", r.body)
	}
	e.do("POST", "/vault_proxy/reflect", k, `{"n":"{{ id.nope }}"}`, "x-fp-id", user).expectProblem(t, 400, true)
	assertNoSecrets(t, e.logText(), pan, "Jane")
}

// TestFootprintDestination5xxIs502WithItsAnswer: every answer of the vault proxy carries
// x-footprint-proxy-upstream-status-code, and a destination 5xx becomes a 502 that keeps the
// destination's headers and body (not a proxy_error in their place).
func TestFootprintDestination5xxIs502WithItsAnswer(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	px := e.do("POST", "/proxies", k, map[string]any{"name": "down", "destination_url": dest.url + "/status/500"}).expect(t, 201).json(t)
	tests := []struct {
		name, path string
		hdr        []string
		status     int
		upstream   string
	}{
		{name: "2xx", path: "/vault_proxy/jit", hdr: []string{"x-fp-proxy-target-url", dest.url + "/status/201"}, status: 201, upstream: "201"},
		{name: "4xx", path: "/vault_proxy/jit", hdr: []string{"x-fp-proxy-target-url", dest.url + "/status/404"}, status: 404, upstream: "404"},
		{name: "503 becomes 502", path: "/vault_proxy/jit", hdr: []string{"x-fp-proxy-target-url", dest.url + "/status/503"}, status: 502, upstream: "503"},
		{name: "599 becomes 502", path: "/vault_proxy/jit", hdr: []string{"x-fp-proxy-target-url", dest.url + "/status/599"}, status: 502, upstream: "599"},
		{name: "pre-configured 500 becomes 502", path: "/vault_proxy/" + px["id"].(string), status: 502, upstream: "500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, k, `{}`, tc.hdr...).expect(t, tc.status)
			if got := r.header.Get("x-footprint-proxy-upstream-status-code"); got != tc.upstream {
				t.Fatalf("upstream status header %q, want %q", got, tc.upstream)
			}
			if r.header.Get("X-Dest") != "yes" || string(r.body) != `{"from":"destination"}` {
				t.Fatalf("the destination's answer was not passed on: %v %s", r.header, r.body)
			}
		})
	}
}

// doHeaders is do with headers that may repeat (each pair is added, not set).
func (e *testEdge) doHeaders(method, path, key string, body string, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("BT-API-KEY", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// TestFootprintIngressRuleFieldForm: x-fp-proxy-ingress-rule in Footprint's form
// <token>.<field>=<$.json.path> (repeatable; split on the first '=') stores the answer's value in
// that token under the flat key <field> and hands the caller "<token>.<field>" in its place —
// the reference a later request detokenizes. Sluice answered 400 to this form.
func TestFootprintIngressRuleFieldForm(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	user := e.token(k, fpUser)
	answer := `{"card":{"number":"5555555555554444","brand":"mc"},"name":"Doe-Smith","note":"a=b","x=y":"eq","keep":1}`
	r := e.doHeaders("POST", "/vault_proxy/jit", k, `{}`,
		"x-fp-proxy-target-url", dest.url+"/json", "x-fp-proxy-fwd-X-Answer", answer,
		"x-fp-proxy-ingress-content-type", "json", "x-fp-id", user,
		"x-fp-proxy-ingress-rule", user+".card.primary.number=$.card.number",
		"x-fp-proxy-ingress-rule", user+".id.last_name=$['name'], custom.note=$.note", // custom.note: the x-fp-id token
		"x-fp-proxy-ingress-rule", "custom.eq=$['x=y']") // split on the first '='

	r.expect(t, 200)
	var out struct {
		Card struct{ Number, Brand string }
		Name string
		Note string
		Keep int
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("answer %s", r.body)
	}
	if out.Card.Number != user+".card.primary.number" || out.Name != user+".id.last_name" ||
		out.Note != user+".custom.note" || out.Card.Brand != "mc" || out.Keep != 1 {
		t.Fatalf("answer after ingress: %s", r.body)
	}
	if strings.Contains(string(r.body), "5555555555554444") || strings.Contains(string(r.body), "Doe-Smith") {
		t.Fatalf("a vaulted value reached the caller: %s", r.body)
	}
	data := e.do("GET", "/tokens/"+user, k, nil).expect(t, 200).json(t)["data"].(map[string]any)
	if data["card.primary.number"] != "5555555555554444" || data["id.last_name"] != "Doe-Smith" ||
		data["custom.note"] != "a=b" || data["custom.eq"] != "eq" || data["id.first_name"] != "Jane" {
		t.Fatalf("token data after ingress: %v", data)
	}
	// The reference the caller got reads the vaulted value back.
	e.do("POST", "/vault_proxy/jit", k, `{"n":"{{ `+out.Card.Number+` }}","l":"{{ `+out.Name+` }}"}`,
		"x-fp-proxy-target-url", dest.url+"/echo").expect(t, 200)
	if got := string(dest.last(t).body); got != `{"n":"5555555555554444","l":"Doe-Smith"}` {
		t.Fatalf("forwarded %s", got)
	}
	// Checked before anything is sent: the permission to update tokens, and each rule.
	invoker, _ := e.newApp("private", "proxy:invoke", "token:use")
	n := len(dest.requests())
	bad := []struct{ name, key, rule string }{
		{"no token:update", invoker, user + ".id.ssn9=$.a"},
		{"field with a space", k, user + ".id.first name=$.a"},
		{"empty field segment", k, user + ".id..x=$.a"},
		{"token id with a slash", k, "a/b.id.x=$.a"},
		{"recursive JSONPath", k, user + ".id.x=$..a"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/vault_proxy/jit", tc.key, `{}`, "x-fp-proxy-target-url", dest.url+"/json",
				"x-fp-proxy-ingress-rule", tc.rule, "x-fp-proxy-ingress-content-type", "json")
			if r.status != 400 && r.status != 403 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if len(dest.requests()) != n {
				t.Fatal("forwarded with a refused ingress rule")
			}
		})
	}
}

// TestFootprintProxyIDPathAndQueryAccessReason: x-fp-proxy-id invokes the pre-configured proxy
// (on /vault_proxy and over a jit target), x-fp-path-and-query is appended to its destination
// (never stepping out of its base path), and x-fp-proxy-access-reason is kept in the audit event
// of each detokenization. Sluice ignored all three.
func TestFootprintProxyIDPathAndQueryAccessReason(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	other := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	id := e.token(k, map[string]any{"data": map[string]any{"ssn": "123-45-6789"}})
	pxID := e.do("POST", "/proxies", k, map[string]any{"name": "bureau", "destination_url": dest.url + "/bureau?v=2"}).expect(t, 201).json(t)["id"].(string)
	body := `{"s":"{{ ` + id + `.ssn }}"}`
	const reason = "KYC re-check, ticket 42 — démarche"
	for _, tc := range []struct{ name, path string }{{"bare route", "/vault_proxy"}, {"wins over a jit target", "/vault_proxy/jit"}} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(other.requests())
			e.do("POST", tc.path, k, body, "x-fp-proxy-id", pxID, "x-fp-proxy-target-url", other.url,
				"x-fp-path-and-query", "/v1/check?x=1&y="+url.QueryEscape("{{ "+id+".ssn | remove: '-' }}"),
				"x-fp-proxy-access-reason", reason).expect(t, 200)
			got := dest.last(t)
			if got.path != "/bureau/v1/check" || got.query != "v=2&x=1&y=123456789" || string(got.body) != `{"s":"123-45-6789"}` {
				t.Fatalf("forwarded %s ?%s %s", got.path, got.query, got.body)
			}
			if len(other.requests()) != before {
				t.Fatal("the jit target was called instead of the proxy")
			}
		})
	}
	// jit appends the path and query to the target URL too.
	e.do("POST", "/vault_proxy/jit", k, `{}`, "x-fp-proxy-target-url", dest.url+"/base?a=1", "x-fp-path-and-query", "/more?b=2").expect(t, 200)
	if got := dest.last(t); got.path != "/base/more" || got.query != "a=1&b=2" {
		t.Fatalf("jit path and query: %s ?%s", got.path, got.query)
	}
	// Every detokenization of the three requests carries the reason.
	evs := e.do("GET", "/logs?operation=detokenize&entity_id="+id, k, nil).expect(t, 200).json(t)["data"].([]any)
	if len(evs) != 2 {
		t.Fatalf("%d detokenize events, want 2", len(evs))
	}
	for _, ev := range evs {
		if m := ev.(map[string]any); m["reason"] != reason || m["proxy_id"] != pxID {
			t.Fatalf("audit event %v", m)
		}
	}
	// Refused before anything is sent.
	n := len(dest.requests())
	for _, tc := range []struct{ name, header, value string }{
		{"dot-dot segment", "x-fp-path-and-query", "/v1/../../admin"},
		{"encoded dot-dot", "x-fp-path-and-query", "/%2e%2e/admin"},
		{"encoded slash", "x-fp-path-and-query", "/a%2f..%2fadmin"},
		{"no leading slash", "x-fp-path-and-query", "@evil.example/x"},
		{"fragment", "x-fp-path-and-query", "/a#b"},
		{"space", "x-fp-path-and-query", "/a b"},
		{"invalid UTF-8 in the reason", "x-fp-proxy-access-reason", "a\xffb"},
		{"reason too long", "x-fp-proxy-access-reason", strings.Repeat("r", 1025)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do("POST", "/vault_proxy", k, body, "x-fp-proxy-id", pxID, tc.header, tc.value).expectProblem(t, 400, true)
			if len(dest.requests()) != n {
				t.Fatal("forwarded")
			}
		})
	}
	e.do("POST", "/vault_proxy", k, body, "x-fp-proxy-id", "no-such-proxy").expectProblem(t, 404, true)
	e.do("POST", "/vault_proxy", "", body, "x-fp-proxy-id", pxID).expectProblem(t, 401, true)
}

// TestFootprintIngressInvalidCardIs502: an ingress rule that finds a value the vault refuses (a
// card number that fails its checks) is the destination's fault: 502 with the upstream status,
// nothing vaulted, and neither the value nor the rest of the destination's answer sent on. It was
// a 500.
func TestFootprintIngressInvalidCardIs502(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	for _, tc := range []struct{ name, number string }{
		{"fails the Luhn check", "4111111111111112"},
		{"too short", "4111"},
		{"not digits", "4111-abcd-1111-1111"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := `{"card":{"number":"` + tc.number + `"},"other":"kept-out"}`
			r := e.do("POST", "/vault_proxy/jit", k, `{}`, "x-fp-proxy-target-url", dest.url+"/json",
				"x-fp-proxy-fwd-X-Answer", answer, "x-fp-proxy-ingress-rule", "card_number=$.card.number",
				"x-fp-proxy-ingress-content-type", "json")
			r.expectProblem(t, 502, true)
			if r.header.Get("x-footprint-proxy-upstream-status-code") != "200" {
				t.Fatalf("upstream status header %q", r.header.Get("x-footprint-proxy-upstream-status-code"))
			}
			if strings.Contains(string(r.body), tc.number) || strings.Contains(string(r.body), "kept-out") {
				t.Fatalf("the destination's answer leaked into the error: %s", r.body)
			}
		})
	}
	if evs := e.do("GET", "/logs?entity_type=token&operation=create", k, nil).expect(t, 200).json(t)["data"].([]any); len(evs) != 0 {
		t.Fatalf("%d tokens vaulted from invalid values", len(evs))
	}
}
