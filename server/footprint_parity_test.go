package server

import (
	"strings"
	"testing"
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
