package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/server/internal/vault"
)

// Basis Theory custom token ids (SPEC §4: 3–400 characters, none of # / \ + ? [ ] | & = % < > { } ^)
// through real sockets: created, read, patched and deleted through percent-encoded paths, and
// detokenized by a quoted id.

// encodeURIComponent escapes id as JavaScript's encodeURIComponent does, which the Basis Theory
// SDKs use to put an id in a path.
func encodeURIComponent(id string) string {
	return strings.ReplaceAll(url.QueryEscape(id), "+", "%20") // QueryEscape writes a space as '+'
}

// TestCustomIDsWithBasisTheoryCharacters: ids with '.', '@', ':', a space, quotes and the longest
// (400 bytes) are created, then found, patched and deleted at /tokens/{encodeURIComponent(id)}.
func TestCustomIDsWithBasisTheoryCharacters(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	for _, id := range []string{"a.b@c", "order:1", "user 7", `it's "quoted"`, "ünï.cødé", "a,b;c!d$e(f)*g~h", strings.Repeat("x", 400)} {
		t.Run(id[:min(len(id), 20)], func(t *testing.T) {
			made := e.do("POST", "/tokens", e.adminKey, map[string]any{"id": id, "type": "token", "data": "v-" + id}).expect(t, 201).json(t)
			if made["id"] != id {
				t.Fatalf("created id %q, want %q", made["id"], id)
			}
			path := "/tokens/" + encodeURIComponent(id)
			if got := e.do("GET", path, e.adminKey, nil).expect(t, 200).json(t); got["id"] != id || got["data"] != "v-"+id {
				t.Fatalf("GET %s: %v", path, got)
			}
			e.do("PATCH", path, e.adminKey, map[string]any{"data": "w"}, "Content-Type", "application/merge-patch+json").expect(t, 200)
			if got := e.do("GET", path, e.adminKey, nil).expect(t, 200).json(t); got["data"] != "w" {
				t.Fatalf("after PATCH: %v", got)
			}
			e.do("POST", "/tokens", e.adminKey, map[string]any{"id": id, "type": "token", "data": "again"}).expect(t, 409)
			e.do("DELETE", path, e.adminKey, nil).expect(t, 204)
			e.do("GET", path, e.adminKey, nil).expectProblem(t, 404, false)
		})
	}
	t.Run("tokenize", func(t *testing.T) {
		out := e.do("POST", "/tokenize", e.adminKey, map[string]any{"t": map[string]any{"id": "cust.7@acme", "type": "token", "data": "x"}}).expect(t, 200).json(t)
		if tok, _ := out["t"].(map[string]any); tok["id"] != "cust.7@acme" {
			t.Fatalf("/tokenize answered %v", out)
		}
		e.do("GET", "/tokens/cust.7%40acme", e.adminKey, nil).expect(t, 200)
	})
}

// TestRefuseCustomIDsOutsideBasisTheoryRule: each forbidden character, too short, too long,
// control characters and whitespace at an end are a 400 naming id — on /tokens and /tokenize —
// and nothing is stored.
func TestRefuseCustomIDsOutsideBasisTheoryRule(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	bad := map[string]string{"2 bytes": "ab", "401 bytes": strings.Repeat("x", 401), "newline": "ab\ncd",
		"nul": "ab\x00cd", "escape": "ab\x1bcd", "leading space": " abc", "trailing space": "abc ",
		"expression": "{{ a }}", "breakout": `x"}}`}
	for _, c := range `#/\+?[]|&=%<>{}^` {
		bad[fmt.Sprintf("forbidden %c", c)] = "ab" + string(c) + "cd"
	}
	for name, id := range bad {
		t.Run(name, func(t *testing.T) {
			p := e.do("POST", "/tokens", e.adminKey, map[string]any{"id": id, "type": "token", "data": "x"}).expectProblem(t, 400, false)
			if errs, _ := p["errors"].(map[string]any); errs["id"] == nil {
				t.Fatalf("the problem does not name id: %v", p)
			}
			p = e.do("POST", "/tokenize", e.adminKey, map[string]any{"t": map[string]any{"id": id, "type": "token", "data": "x"}}).expectProblem(t, 400, false)
			if errs, _ := p["errors"].(map[string]any); !strings.HasPrefix(fmt.Sprint(errs["$.t"]), "[id: ") {
				t.Fatalf("the /tokenize problem does not name id: %v", p)
			}
		})
	}
	if n := e.countTokens(""); n != 0 {
		t.Fatalf("%d tokens stored from refused ids", n)
	}
}

// TestDetokenizeQuotedCustomID: a custom id that is not a bare word is detokenized as
// {{ token: '…' }}, in /detokenize and in a /proxy body, and its value lands escaped in the JSON.
func TestDetokenizeQuotedCustomID(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	e.do("POST", "/tokens", e.adminKey, map[string]any{"id": "cust.42@acme", "type": "token", "data": `"}} {{ x`}).expect(t, 201)
	e.do("POST", "/tokens", e.adminKey, map[string]any{"id": "it's", "type": "token", "data": map[string]any{"n": 7}}).expect(t, 201)
	out := e.do("POST", "/detokenize", e.adminKey, map[string]any{
		"a": "{{ token: 'cust.42@acme' | json: '$.data' }}",
		"b": `{{ token: "it's" | json: '$.data.n' }}`, // in the JSON body the double quotes are \"
		"c": "{{ token: 'cust.42@acme'.id }}",
	}).expect(t, 200)
	var got map[string]any
	if err := json.Unmarshal(out.body, &got); err != nil {
		t.Fatalf("not JSON: %s", out.body)
	}
	if got["a"] != `"}} {{ x` || got["b"] != "7" || got["c"] != "cust.42@acme" {
		t.Fatalf("detokenized %s", out.body)
	}
}

// TestTokenPathIDDecodedOnce: an id in the path is percent-decoded exactly once, after the path
// is split: an encoded '/' or dot segment is part of the id, never a separator that reaches
// another route.
func TestTokenPathIDDecodedOnce(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	e.do("POST", "/tokens", e.adminKey, map[string]any{"id": "a%41b", "type": "token", "data": "x"}).expectProblem(t, 400, false)
	e.do("POST", "/tokens", e.adminKey, map[string]any{"id": "aAb", "type": "token", "data": "x"}).expect(t, 201)
	for _, path := range []string{
		"/tokens/x%2F..%2F..%2Fapplications", // decoded before splitting, this is GET /applications
		"/tokens/a%2541b",                    // decoded twice, this is aAb
		"/tokens/a%2Fb",
	} {
		t.Run(path, func(t *testing.T) {
			res := e.rawRequest("GET " + path + " HTTP/1.1\r\nHost: x\r\nBT-API-KEY: " + e.adminKey + "\r\nConnection: close\r\n\r\n")
			if res.StatusCode != 404 {
				t.Fatalf("GET %s: %d, want 404", path, res.StatusCode)
			}
		})
	}
	e.do("GET", "/tokens/a%41b", e.adminKey, nil).expect(t, 200) // encoded once: aAb
}

// TestOpenAPIIDPatternAgreesWithValidID: the documented id pattern accepts exactly the ids the
// vault accepts (ASCII whitespace; the pattern's \s differs between regex dialects beyond it).
func TestOpenAPIIDPatternAgreesWithValidID(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Pattern   string `json:"pattern"`
					MinLength int    `json:"minLength"`
					MaxLength int    `json:"maxLength"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	id := doc.Components.Schemas["CreateTokenRequest"].Properties["id"]
	re := regexp.MustCompile(id.Pattern)
	ids := []string{"abc", "a.b@c", "user 7", "it's", "ünï", strings.Repeat("x", 400), "ab", " abc", "abc ", "a\tb",
		"ab\x7f", "ab\u0085", "a\nb"}
	for _, c := range `#/\+?[]|&=%<>{}^` {
		ids = append(ids, "ab"+string(c)+"c")
	}
	for _, s := range ids {
		n := utf8.RuneCountInString(s)
		if documented := re.MatchString(s) && n >= id.MinLength && n <= id.MaxLength; documented != vault.ValidID(s) {
			t.Errorf("%q: documented %v, ValidID %v", s, documented, vault.ValidID(s))
		}
	}
}
