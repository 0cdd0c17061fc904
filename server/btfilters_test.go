package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestBTLiquidFilterFamiliesThroughTLS: each family of SPEC §5's filters, as Basis Theory's
// guides use them, detokenizes through a pre-configured proxy to a TLS destination.
func TestBTLiquidFilterFamiliesThroughTLS(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	name := e.token(k, map[string]any{"data": "Ada King Lovelace"})
	card := e.token(k, map[string]any{"type": "card", "data": map[string]any{"number": pan, "expiration_month": 12, "expiration_year": 2031}})
	px := e.btProxy(t, dest, map[string]any{"configuration": map[string]string{"KEY": "k3y"}})
	mac := func(key, msg string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	for _, c := range []struct {
		family string
		exprs  map[string]string // field → expression
		want   map[string]any    // field → value the destination gets
	}{
		{"string", map[string]string{
			"up":      "{{ " + name + " | upcase }}",
			"replace": "{{ " + name + " | replace: 'King', 'K.' }}",
			"slice":   "{{ " + name + " | slice: 0, 3 | append: '!' | prepend: '¡' }}",
			"cap":     "{{ " + name + " | downcase | capitalize }}",
		}, map[string]any{"up": "ADA KING LOVELACE", "replace": "Ada K. Lovelace", "slice": "¡Ada!", "cap": "Ada king lovelace"}},
		{"array", map[string]string{
			"first": "{{ " + name + " | split: ' ' | first }}",
			"last":  "{{ " + name + " | split: ' ' | last }}",
			"size":  "{{ " + name + " | split: ' ' | size }}",
			"join":  "{{ " + name + " | split: ' ' | join: '-' }}",
		}, map[string]any{"first": "Ada", "last": "Lovelace", "size": "3", "join": "Ada-King-Lovelace"}},
		{"json", map[string]string{
			"number": "{{ " + card + " | json: '$.number' | last4 }}",
			"month":  "{{ " + card + " | json: '$.expiration_month' | pad_left: 2, '0' }}",
			"type":   "{{ token: " + card + " | json: '$.type' }}",
		}, map[string]any{"number": pan[12:], "month": "12", "type": "card"}},
		{"hashing", map[string]string{
			"hmac":    "{{ " + card + " | json: '$.number' | hmac: 'sha-256', config.KEY | to_base16 }}",
			"literal": "{{ " + name + " | hmac: 'sha-256', 'secret' | to_base64 }}",
		}, map[string]any{"hmac": strings.ToUpper(hex.EncodeToString(mac("k3y", pan))), "literal": base64.StdEncoding.EncodeToString(mac("secret", "Ada King Lovelace"))}},
		{"encoding", map[string]string{
			"b64": "{{ " + name + " | to_base64 }}",
			"url": "{{ " + name + " | url_encode }}",
			"hex": "{{ " + card + " | json: '$.number' | to_base16 }}",
		}, map[string]any{"b64": base64.StdEncoding.EncodeToString([]byte("Ada King Lovelace")), "url": url.QueryEscape("Ada King Lovelace"), "hex": strings.ToUpper(hex.EncodeToString([]byte(pan)))}},
	} {
		t.Run(c.family, func(t *testing.T) {
			body, _ := json.Marshal(c.exprs)
			e.do("POST", "/proxy", k, body, "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
			var got map[string]any
			if err := json.Unmarshal(dest.last(t).body, &got); err != nil {
				t.Fatalf("destination got %s", dest.last(t).body)
			}
			for f, want := range c.want {
				if got[f] != want {
					t.Errorf("%s: %v, want %v", f, got[f], want)
				}
			}
		})
	}
}

// TestProxySigningWithHMACThroughTLS: a request transform signs the request as Basis Theory's
// guide does — a header, then the detokenized body, HMAC-SHA256 with a configuration secret —
// and the TLS destination checks the signature against what it received; the secret and the
// card appear in no log.
func TestProxySigningWithHMACThroughTLS(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	const secret = "my-s3cret-signing-key"
	card := e.token(k, map[string]any{"type": "card_number", "data": pan})
	px := e.btProxy(t, dest, map[string]any{
		"configuration": map[string]string{"secret_key": secret},
		"request_transforms": []any{map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Signature",
			"value": "{{ proxy | json: '$.request.headers.X-Date' | append: proxy.request.body | hmac: 'sha-256', proxy.config.secret_key | to_base16 }}"}}},
	})
	date := "2026-12-05T11:46:28.629Z"
	e.do("POST", "/proxy/charges", k, `{"card_number":"{{ `+card+` }}"}`, "BT-PROXY-KEY", px["key"].(string), "X-Date", date).expect(t, 200)
	got := dest.last(t)
	if string(got.body) != `{"card_number":"`+pan+`"}` {
		t.Fatalf("destination got %s", got.body)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(date))
	m.Write(got.body)
	if sig := got.header.Get("X-Signature"); sig != strings.ToUpper(hex.EncodeToString(m.Sum(nil))) {
		t.Fatalf("X-Signature %q does not sign what the destination received", sig)
	}
	assertNoSecrets(t, e.logText(), secret, pan)
}

// TestProxySigningInRequestHeaderThroughTLS: Basis Theory's documented signing, written in the
// caller's own header — X-User-Id, then X-Date, then the detokenized body, HMAC-SHA256 with the
// proxy's configured secret, base16 — reaches the TLS destination computed over what it
// received. A body too large to hold whole cannot be signed (413, nothing sent).
func TestProxySigningInRequestHeaderThroughTLS(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	const secret = "my-secret-key"
	card := e.token(k, map[string]any{"type": "card_number", "data": pan})
	px := e.btProxy(t, dest, map[string]any{"configuration": map[string]string{"secret_key": secret}})
	sign := `{{ proxy | json: '$.request.headers.X-User-Id' | append: proxy.request.headers.X-Date | append: proxy.request.body | hmac: 'sha-256', proxy.config.secret_key | to_base16 }}`
	body := `{ "card_number": "{{ token: ` + card + ` | json: '$.data' }}" }`
	e.do("POST", "/proxy", k, body, "BT-PROXY-KEY", px["key"].(string), "X-User-Id", "2342424",
		"X-Date", "2024-07-10T13:46:28.629Z", "Authorization", sign).expect(t, 200)
	got := dest.last(t)
	if string(got.body) != `{ "card_number": "`+pan+`" }` {
		t.Fatalf("destination got %s", got.body)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("2342424" + "2024-07-10T13:46:28.629Z"))
	m.Write(got.body)
	if a := got.header.Get("Authorization"); a != strings.ToUpper(hex.EncodeToString(m.Sum(nil))) {
		t.Fatalf("Authorization %q does not sign what the destination received", a)
	}
	assertNoSecrets(t, e.logText(), secret, pan)

	n := len(dest.requests())
	big := `{"pad":"` + strings.Repeat("a", 5<<20) + `"}`
	e.do("POST", "/proxy", k, big, "BT-PROXY-KEY", px["key"].(string), "Authorization", sign).expectProblem(t, 413, true)
	if len(dest.requests()) != n {
		t.Fatal("an unsignable request was sent")
	}
}
