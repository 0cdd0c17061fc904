package expr

import (
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

const breakout = `Robert","role":"admin","x":"`

// TestRejectJSONBreakoutInBody: in a Body (any label but JSON and form) a value inside a JSON
// string is JSON-string-escaped, found by lexing the bytes before it, however the input is cut
// into chunks; outside strings it is inserted as is, as in Text.
func TestRejectJSONBreakoutInBody(t *testing.T) {
	esc := `Robert\",\"role\":\"admin\",\"x\":\"`
	cases := []struct{ name, src, want string }{
		{"json document", `{"name":"{{ t }}"}`, `{"name":"` + esc + `"}`},
		{"part of a string", `{"name":"Mr {{ t }}!"}`, `{"name":"Mr ` + esc + `!"}`},
		{"after an escaped quote", `{"a":"\"{{ t }}"}`, `{"a":"\"` + esc + `"}`},
		{"after an escaped backslash", `{"a":"\\","b":"{{ t }}"}`, `{"a":"\\","b":"` + esc + `"}`},
		{"unquoted in text", `Hello {{ t }}`, `Hello ` + breakout},
		{"after a closed string", `"x" {{ t }}`, `"x" ` + breakout},
		{"ndjson", "{\"a\":\"{{ t }}\"}\n{\"b\":\"{{ t }}\"}\n", "{\"a\":\"" + esc + "\"}\n{\"b\":\"" + esc + "\"}\n"},
		{"expression with raw quotes is opaque", `{"a":"{{ t | default: "x" }}"}`, `{"a":"` + esc + `"}`},
		{"expression with escaped quotes", `{"a":"{{ t | append: \"!\" }}"}`, `{"a":"` + esc + `!"}`},
	}
	env := newAnyEnv(breakout)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.src, Body, env)
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
			for cut := 0; cut <= len(tc.src); cut++ {
				rd := io.MultiReader(strings.NewReader(tc.src[:cut]), strings.NewReader(tc.src[cut:]))
				got, err := streamAll(t, []byte(tc.src), Body, env, rd)
				if err != nil || string(got) != tc.want {
					t.Fatalf("cut at %d: %s, %v", cut, got, err)
				}
			}
		})
	}
}

// TestRejectJSONBreakoutInHeader: in a header value a value inside double quotes — a JSON
// header (Dropbox-API-Arg style) or an HTTP quoted-string — stays inside them; elsewhere it is
// inserted as is.
func TestRejectJSONBreakoutInHeader(t *testing.T) {
	esc := `Robert\",\"role\":\"admin\",\"x\":\"`
	cases := []struct{ name, src, want string }{
		{"json value", `{"path":"{{ t }}","mode":"add"}`, `{"path":"` + esc + `","mode":"add"}`},
		{"quoted-string", `Digest username="{{ t }}", realm="r"`, `Digest username="` + esc + `", realm="r"`},
		{"token", `Bearer {{ t }}`, `Bearer ` + breakout},
	}
	env := newAnyEnv(breakout)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.src, Header, env)
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

// TestBodyRendersJSONStringsSafely is a property test: a JSON document whose expressions sit in
// strings renders, in a Body, to JSON with the same shape for any value, in random chunkings.
func TestBodyRendersJSONStringsSafely(t *testing.T) {
	src := `{"a":"{{ t }}","b":["x{{ t }}y",{"c":"\\\"{{ t | upcase }}"}],"d":"{{ t | json: '$.x' }}"}`
	rng := rand.New(rand.NewPCG(3, 4))
	for _, v := range append(fuzzValues, breakout, `\`, `\"`, "\"\u2028\x01", `","x":{"y":"`, "\xc0\"") {
		env := newAnyEnv(v)
		want, err := render(t, src, Body, env)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(want), &doc); err != nil || len(doc) != 3 {
			t.Fatalf("%q: %s is not the template's JSON: %v", v, want, err)
		}
		got, err := streamAll(t, []byte(src), Body, env, &chunkReader{src: []byte(src), rng: rng, max: 5})
		if err != nil || string(got) != want {
			t.Fatalf("%q: streamed %s, %v; whole %s", v, got, err, want)
		}
	}
}

// TestRejectHeaderControlCharacters: a value with any control character but HTAB (C0, DEL, C1
// such as NEL) or with invalid UTF-8 (a Latin-1 reader sees C1 there) is refused in a header,
// and the error names the expression, never the value.
func TestRejectHeaderControlCharacters(t *testing.T) {
	var bad []string
	for c := rune(0); c <= 0x9f; c++ {
		if c < 0x20 && c != '\t' || c >= 0x7f {
			bad = append(bad, "a"+string(c)+"b")
		}
	}
	for c := 0x80; c <= 0xff; c++ {
		bad = append(bad, "a"+string([]byte{byte(c)})+"b")
	}
	bad = append(bad, "\xe2\x80", "ok\xed\xa0\x80") // truncated, surrogate
	for _, v := range bad {
		for _, src := range []string{"Bearer {{ config: K }}", "{{ config: K | append: 'x' }}"} {
			_, err := render(t, src, Header, newAnyEnv(v))
			if !errors.Is(err, ErrHeaderInjection) {
				t.Fatalf("%q: got %v, want ErrHeaderInjection", v, err)
			}
			if !strings.Contains(err.Error(), "config: K") || strings.Contains(err.Error(), v) {
				t.Fatalf("%q: error %q must name the expression and not the value", v, err)
			}
		}
	}
	for _, v := range []string{"tab\tok", "é€😀", "\u00a0", `"quoted"`} {
		if !utf8.ValidString(v) {
			t.Fatal(v)
		}
		out, err := render(t, "{{ config: K }}", Header, newAnyEnv(v))
		if err != nil || out != v {
			t.Fatalf("%q: got %q, %v", v, out, err)
		}
	}
}

// TestBodyRenderAlloc: the proxy's whole-body path (Scan, then RenderScanned) in a Body does
// not allocate, as in JSON.
func TestBodyRenderAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	body := body1KB()
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	dst := make([]byte, 0, 4096)
	if _, err := r.Scan(body, Body, nil); err != nil {
		t.Fatal(err)
	}
	out, err := r.RenderScanned(dst, body, Body, env)
	if err != nil || !json.Valid(out) || r.Count() != 5 {
		t.Fatalf("%v, %d expressions: %s", err, r.Count(), out)
	}
	allocs := testing.AllocsPerRun(200, func() {
		r.Scan(body, Body, nil)
		out, err = r.RenderScanned(dst[:0], body, Body, env)
	})
	if err != nil || allocs != 0 {
		t.Fatalf("Scan + RenderScanned: %v allocs/op, err %v", allocs, err)
	}
}
