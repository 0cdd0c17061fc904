package jwe

import (
	"strings"
	"testing"
)

func TestParseHeaderStrictness(t *testing.T) {
	const epk = `"epk":{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{name: "basis theory header", json: `{"alg":"ECDH-ES","enc":"A256GCM","kid":"k",` + epk + `}`, ok: true},
		{name: "whitespace everywhere", json: " {\n\t\"alg\" : \"ECDH-ES\" ,\r\n \"enc\":\"A256GCM\",\"kid\":\"k\" } ", ok: true},
		{name: "unknown members ignored", json: `{"alg":"a","enc":"e","kid":"k","typ":"JWE","x":{"y":[1,{"z":"}"}]},"n":-1.5e3,"t":true,"f":null}`, ok: true},
		{name: "apu apv", json: `{"alg":"a","enc":"e","kid":"k","apu":"QWxpY2U","apv":"Qm9i"}`, ok: true},
		{name: "missing kid", json: `{"alg":"a","enc":"e"}`},
		{name: "empty kid", json: `{"alg":"a","enc":"e","kid":""}`},
		{name: "kid not a string", json: `{"alg":"a","enc":"e","kid":1}`},
		{name: "kid with escape", json: `{"alg":"a","enc":"e","kid":"k\u0000"}`},
		{name: "escaped member name", json: `{"\u0061lg":"a","alg":"a","enc":"e","kid":"k"}`},
		{name: "duplicate unknown member", json: `{"alg":"a","enc":"e","kid":"k","x":1,"x":2}`},
		{name: "zip", json: `{"alg":"a","enc":"e","kid":"k","zip":"DEF"}`},
		{name: "crit", json: `{"alg":"a","enc":"e","kid":"k","crit":[]}`},
		{name: "epk with d", json: `{"alg":"a","enc":"e","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"AA","d":"AA"}}`},
		{name: "epk with uppercase X", json: `{"alg":"a","enc":"e","kid":"k","epk":{"kty":"OKP","crv":"X25519","X":"AA"}}`},
		{name: "epk duplicate x", json: `{"alg":"a","enc":"e","kid":"k","epk":{"x":"AA","x":"BB"}}`},
		{name: "epk not an object", json: `{"alg":"a","enc":"e","kid":"k","epk":"AA"}`},
		{name: "epk x not a string", json: `{"alg":"a","enc":"e","kid":"k","epk":{"x":[]}}`},
		{name: "array", json: `[{"alg":"a","enc":"e","kid":"k"}]`},
		{name: "invalid JSON", json: `{"alg":"a","enc":"e","kid":"k",}`},
		{name: "two objects", json: `{"alg":"a","enc":"e","kid":"k"}{}`},
		{name: "too many members", json: `{"alg":"a","enc":"e","kid":"k"` + manyMembers(maxHeaderMembers-2) + `}`},
		{name: "most members allowed", json: `{"alg":"a","enc":"e","kid":"k"` + manyMembers(maxHeaderMembers-3) + `}`, ok: true},
		{name: "deep nesting", json: `{"alg":"a","enc":"e","kid":"k","x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := parseHeader([]byte(tt.json))
			if ok != tt.ok {
				t.Fatalf("parseHeader ok = %v, want %v", ok, tt.ok)
			}
			if ok && (len(h.alg) == 0 || len(h.enc) == 0 || len(h.kid) == 0) {
				t.Fatal("accepted without alg/enc/kid")
			}
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(`,"m`)
		b.WriteString(strings.Repeat("x", i+1))
		b.WriteString(`":0`)
	}
	return b.String()
}

func TestObjIterNeverPanics(t *testing.T) {
	// The walker assumes json.Valid input but must survive anything.
	for _, s := range []string{"", "{", `{"`, `{"a"`, `{"a":`, `{"a":"`, `{"a":1`, `{"a":[`, `{"a":{"b":"\`, `{,}`, `{"a" 1}`, `}`, `{"a":1}}`, `{"a":}`} {
		it, ok := newObjIter([]byte(s))
		for ok {
			_, _, ok = it.next()
		}
	}
}
