package proxy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/internal/expr"
)

// TestExchangeForgetsTokenIDs: the token ids a request names (collected from its expressions,
// and in its path and query) do not stay in the pooled exchange once it is reset.
func TestExchangeForgetsTokenIDs(t *testing.T) {
	x := &exchange{limit: 10, exprLimits: expr.Limits{MaxExprs: 100, MaxExpansion: 1 << 20}}
	if err := x.collect([]byte(`{{ token: tok_secret_1 | json: '$.a' }} {{ tok_secret_2 }} {{ tok_secret_1 }}`), expr.Text); err != nil {
		t.Fatal(err)
	}
	if len(x.env.ids) != 2 || x.env.ids[0] != "tok_secret_1" || x.env.ids[1] != "tok_secret_2" || !x.env.wantObj[0] || x.env.wantObj[1] {
		t.Fatalf("collected %q %v", x.env.ids, x.env.wantObj)
	}
	x.url = appendURL(x.url[:0], "https://d.example", []byte("/p/tok_secret_3"), []byte("q={{tok_secret_4}}"))
	x.restPath = append(x.restPath[:0], "/p/tok_secret_3"...)
	x.release()
	x.reset()
	for name, b := range map[string][]byte{"idBuf": x.idBuf, "url": x.url, "restPath": x.restPath} {
		if strings.Contains(string(b[:cap(b)]), "tok_secret") {
			t.Errorf("%s keeps a token id: %q", name, b[:cap(b)])
		}
	}
}

// FuzzMaskBody: the mask transform never panics and never changes text outside its groups'
// length budget (the output has as many runes as the input when the replacement is one rune).
func FuzzMaskBody(f *testing.F) {
	f.Add(`"ssn":"123-45-6789"`, `"ssn":"\d{3}-\d{2}-(\d{4})"`)
	f.Add("aaaa", "(a)(a)")
	f.Add("héllo wörld", `(\pL+)`)
	f.Fuzz(func(t *testing.T, body, re string) {
		tr := &Transform{Type: "mask", Matcher: "regex", Expression: re, Replacement: "*"}
		if ValidateDeclarative(tr, "f") != nil {
			return
		}
		out, ok := maskBody(tr, []byte(body))
		if !ok {
			return
		}
		if utf8.ValidString(body) && utf8.RuneCount(out) != utf8.RuneCountInString(body) {
			t.Fatalf("mask changed the length: %q → %q", body, out)
		}
	})
}

// FuzzJSONSplice: putting a token id at any location of any JSON body never panics and, when it
// succeeds on a valid body, leaves valid JSON.
func FuzzJSONSplice(f *testing.F) {
	f.Add(`{"card":{"number":"4242"}}`, "$.card.number")
	f.Add(`[1,2,3]`, "$[1]")
	f.Add(`{"a.b":1}`, "$['a.b']")
	f.Add(`{"a":"\u2028"}`, "$.a")
	f.Fuzz(func(t *testing.T, body, loc string) {
		path, err := jsonPath(loc)
		if err != nil || !json.Valid([]byte(body)) {
			return
		}
		out, err := sjsonSet([]byte(body), path, "0b7c1f0e-6b0e-4c65-8d2b-9d0a5b0e2f11")
		if err == nil && !json.Valid(out) {
			t.Fatalf("splice broke JSON: %q at %q → %q", body, loc, out)
		}
	})
}

func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"$.a.b", "$.a[0].b", "$['a.b']", "$", "a", "$..a", "$.a[*]", "$[", "$.['x']"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out, err := jsonPath(p)
		if err == nil && out == "" {
			t.Fatal("empty path accepted")
		}
	})
}

func FuzzAppendURL(f *testing.F) {
	f.Add("https://example.com/api/", "/a/b", "x=1&bt-proxy-key=k")
	f.Add("https://e.com?x", "", "")
	f.Fuzz(func(t *testing.T, base, rest, query string) {
		u := string(appendURL(nil, base, []byte(rest), []byte(query)))
		base, baseQuery, hasBaseQuery := strings.Cut(base, "?")
		prefix := strings.TrimRight(base, "/") + rest
		tail, ok := strings.CutPrefix(u, prefix)
		if hasBaseQuery && baseQuery != "" {
			tail, ok = strings.CutPrefix(tail, "?"+baseQuery)
		}
		if !ok {
			t.Fatalf("appendURL(%q, %q, %q) = %q: base or path lost", base, rest, query, u)
		}
		if tail == "" {
			return
		}
		if tail[0] != '?' && tail[0] != '&' {
			t.Fatalf("%q: no separator before the query", u)
		}
		for kv := range strings.SplitSeq(tail[1:], "&") {
			if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(k, "bt-proxy-key") {
				t.Fatalf("key survived: %q", u)
			}
		}
	})
}

func TestAppendURLAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	buf := make([]byte, 0, 256)
	rest, query := []byte("/v1/charges"), []byte("expand=customer&limit=3")
	if n := testing.AllocsPerRun(100, func() { buf = appendURL(buf[:0], "https://api.example.com/", rest, query) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestAppendURL(t *testing.T) {
	tests := []struct{ base, rest, query, want string }{
		{"https://example.com/api", "/foo/bar", "x=1", "https://example.com/api/foo/bar?x=1"},
		{"https://example.com/api///", "/foo", "", "https://example.com/api/foo"},
		{"https://example.com", "", "", "https://example.com"},
		{"https://example.com/a?k=v", "/b", "x=1", "https://example.com/a/b?k=v&x=1"},
		{"https://example.com/a?k=v", "", "", "https://example.com/a?k=v"},
		{"https://example.com/a", "", "a=1&&b", "https://example.com/a?a=1&&b"}, // as sent
		{"https://e.com", "/p", "a=1&bt-proxy-key=k&b=2&BT-PROXY-KEY=z", "https://e.com/p?a=1&b=2"},
		{"https://e.com?k=v", "", "bt-proxy-key=k&&c", "https://e.com?k=v&c"},
		{"https://e.com", "", "bt-proxy-key", "https://e.com"},
	}
	for _, tt := range tests {
		if got := string(appendURL([]byte("old"), tt.base, []byte(tt.rest), []byte(tt.query))); got != "old"+tt.want {
			t.Errorf("appendURL(%q,%q,%q) = %q", tt.base, tt.rest, tt.query, got)
		}
	}
}
