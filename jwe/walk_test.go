package jwe

import (
	"encoding/json"
	"strings"
	"testing"
)

// shallowShaped reports, through encoding/json, whether b is an object of strings or of objects of
// strings: the only shapes of a BT-ENCRYPTED value.
func shallowShaped(b []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil || top == nil {
		return false
	}
	for _, v := range top {
		if v[0] == '"' {
			continue
		}
		var inner map[string]json.RawMessage
		if v[0] != '{' || json.Unmarshal(v, &inner) != nil {
			return false
		}
		for _, w := range inner {
			if w[0] != '"' {
				return false
			}
		}
	}
	return true
}

// walkSeeds are JSON texts, valid and not, of the BT-ENCRYPTED shapes and near them.
var walkSeeds = []string{
	`{}`, ` { } `, `{"type":"card","encrypted":"a.b.c.d.e"}`, `{"a":{"type":"t","encrypted":"x"},"b":{}}`,
	`{"type":"\u00e9\n\"\\\/\b\f\r\t","encrypted":"x"}`, `{"type":"\u12","encrypted":"x"}`,
	`{"type":"\x","encrypted":"x"}`, `{"type":"` + "\x01" + `","encrypted":"x"}`,
	`{"type":"t","encrypted":"x",}`, `{,"type":"t","encrypted":"x"}`, `{"type":"t" "encrypted":"x"}`,
	`{"type":"t","encrypted":"x"`, `{"type" "t"}`, `{"type":1,"encrypted":"x"}`, `{"a":{"a":{}}}`,
	`{"a":["x"]}`, `{"a":null}`, `[]`, `"x"`, `{"type":"t","encrypted":"x"}x`, `{"type":"\ud800","encrypted":"x"}`,
	"{\"type\":\"\xff\",\"encrypted\":\"x\"}", `{"type":"t","encrypted":"x"}` + "\n",
	strings.Repeat(`{"a":`, 50), `{"type":"t","encrypted":"` + strings.Repeat("x", 5000) + `"}`,
	`{"a":{"type":"t","encrypted":"x",}}`, `{"a":{"type":"t","encrypted":1}}`, `{"a":{"type":"t","encrypted":"x"]}`,
	`{"a":{"type":"t","encrypted":"x"}}}`, `{"a":{"type":"t","encrypted":"x"},,"b":{"type":"t","encrypted":"y"}}`,
	`{"a":{"type":"t","encrypted":"x"} "b":{"type":"t","encrypted":"y"}}`, `{"a":{"type":"t","encrypted":"x\"}}`,
	`{"a":{"type":"t","encrypted":"x` + "\t" + `"}}`, `{"a":{"type":"t","encrypted":"x"}1}`,
}

// checkBTEntriesValid: whatever btEntries accepts is valid JSON of a BT-ENCRYPTED shape — the walk
// checks what it skips nowhere else.
func checkBTEntriesValid(t *testing.T, b []byte) {
	t.Helper()
	if _, _, ok := btEntries(b); ok && !(json.Valid(b) && shallowShaped(b)) {
		t.Fatalf("btEntries accepted %q, which is not valid JSON of a BT-ENCRYPTED shape", b)
	}
}

func TestBTEntriesAcceptsOnlyValidJSON(t *testing.T) {
	for _, s := range walkSeeds {
		t.Run(s[:min(len(s), 30)], func(t *testing.T) { checkBTEntriesValid(t, []byte(s)) })
	}
	for _, s := range []string{`{"type":"t","encrypted":"x"}`, `{"a":{"type":"t","encrypted":"x"},"b":{"encrypted":"y","type":"\u00e9"}}`} {
		if _, _, ok := btEntries([]byte(s)); !ok {
			t.Errorf("btEntries refused %s", s)
		}
	}
}

// TestParseHeaderRefusesInvalidJSONOfTheUsualShape: a header whose values are all strings or
// the epk object is checked by the walk alone (no json.Valid), so each flaw must stop it there.
func TestParseHeaderRefusesInvalidJSONOfTheUsualShape(t *testing.T) {
	const epk = `"epk":{"kty":"OKP","crv":"X25519","x":"AAAA"}`
	for _, s := range []string{
		`{"alg":"a","enc":"e","kid":"k",` + epk + `,}`,
		`{,"alg":"a","enc":"e","kid":"k",` + epk + `}`,
		`{"alg":"a","enc":"e" "kid":"k",` + epk + `}`,
		`{"alg":"a","enc":"e","kid":"k",` + epk + `}x`,
		`{"alg":"a","enc":"e","kid":"k\x"}`,
		`{"alg":"a","enc":"e","kid":"k` + "\x01" + `"}`,
		`{"alg":"a","enc":"e","kid":"k","typ":"\u00zz"}`,
		`{"alg":"a","enc":"e","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"AAAA",}}`,
		`{"alg":"a","enc":"e","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"AAAA"]}`,
		`{"alg":"a","enc":"e","kid":"k","epk":{"kty":"OKP" "crv":"X25519"}}`,
		`{"alg":"a","enc":"e","kid":"k","epk":{"kty":"O` + "\n" + `KP"}}`,
		`{"alg":"a","enc":"e","kid":"k","x":1,}`,
		`{"alg":"a","enc":"e","kid":"k","x":tru}`,
	} {
		if json.Valid([]byte(s)) {
			t.Fatalf("seed %s is valid JSON", s)
		}
		if _, ok := parseHeader([]byte(s)); ok {
			t.Errorf("parseHeader accepted %s", s)
		}
	}
	if _, ok := parseHeader([]byte(`{"alg":"a","enc":"e","kid":"k",` + epk + `,"typ":"JWE","n":[1,{"}":"]"}]}`)); !ok {
		t.Error("parseHeader refused a valid header")
	}
}

// FuzzBTEntriesAcceptsOnlyValidJSON: the property of TestBTEntriesAcceptsOnlyValidJSON on any input.
func FuzzBTEntriesAcceptsOnlyValidJSON(f *testing.F) {
	for _, s := range walkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkBTEntriesValid)
}

// FuzzValidJSONAgreesWithJSONValid: the lone-string shortcut accepts exactly what json.Valid does.
func FuzzValidJSONAgreesWithJSONValid(f *testing.F) {
	for _, s := range []string{`"4242424242424242"`, ` "a" `, `"\u00e9\n\"\\\/\b\f\r\t"`, `"\u12"`, `"\x"`, "\"\x01\"",
		"\"\xff\"", `"a"x`, `"a""b"`, `"a`, `"`, `""`, `"\"`, `{"a":1}`, `1`, "\t\"a\"\r\n", `"a" "`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}
