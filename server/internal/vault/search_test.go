package vault

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

func TestParseQueryReadsBTSyntax(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     store.TokenQuery
	}{
		{"one metadata term", "metadata.run:abc", store.TokenQuery{Metadata: map[string]string{"run": "abc"}}},
		{"AND of fields", "type:card AND container:/pci/ AND fingerprint:fp1",
			store.TokenQuery{Type: "card", ContainerPrefix: "/pci/", Fingerprint: "fp1"}},
		{"space joins like AND", "type:token  metadata.k:v", store.TokenQuery{Type: "token", Metadata: map[string]string{"k": "v"}}},
		{"quoted value with spaces and escapes", `metadata.name:"Ada \"L\" Byron" AND data:"1 2\\3"`,
			store.TokenQuery{Metadata: map[string]string{"name": `Ada "L" Byron`}, Data: []string{`1 2\3`}}},
		{"two data terms", "data:123 data:6789", store.TokenQuery{Data: []string{"123", "6789"}}},
		{"value holding a colon", "metadata.url:https://x", store.TokenQuery{Metadata: map[string]string{"url": "https://x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseQuery(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRejectMalformedQueryNamingTheTerm: each malformed query is a 400 on "query" naming the
// offending term by position and field, and never echoing a data value.
func TestRejectMalformedQueryNamingTheTerm(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "  ", "is empty"},
		{"unterminated quote", `metadata.run:"unterminated`, `term 1 ("metadata.run") has an unterminated quote`},
		{"no colon", "type:token AND justaword", `term 2 ("justaword") is not field:value`},
		{"unknown field", "type:token secret:x", `term 2 ("secret") is not a searchable field`},
		{"unknown type", "type:nope", `term 1 ("type") is not a token type`},
		{"dangling AND", "type:token AND ", `term 2 ("AND") is not followed by a term`},
		{"leading AND", "AND type:token", `term 1 ("AND") is not field:value`},
		{"empty value", `data:""`, `term 1 ("data") has no value`},
		{"text after quote", `data:"4242"x`, `term 1 ("data") has text right after its closing quote`},
		{"quote inside value", `data:42"42"`, `term 1 ("data") has a quote inside an unquoted value`},
		{"conflicting types", "type:token type:card", `term 2 ("type") is given twice`},
		{"no metadata key", "metadata.:x", `term 1 ("metadata.") names no metadata key`},
		{"too long", "data:" + strings.Repeat("1", MaxQueryBytes), "at most 4096 bytes"},
		{"too many terms", strings.Repeat("data:1 ", MaxQueryTerms+1), "at most 32 terms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseQuery(tc.in)
			p, ok := err.(*edge.Problem)
			if !ok || p.Status != 400 || len(p.Errors["query"]) != 1 {
				t.Fatalf("want a 400 on query, got %#v", err)
			}
			if msg := p.Errors["query"][0]; !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not say %q", msg, tc.want)
			}
			if strings.Contains(p.Errors["query"][0], "4242") {
				t.Fatalf("the refusal echoes a data value: %q", p.Errors["query"][0])
			}
		})
	}
}

// FuzzParseQuery: any input parses or is a 400 on "query"; never a panic, and a parsed query
// holds at most MaxQueryTerms terms, each with a value.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"metadata.run:abc", `type:card AND data:"1 2"`, `data:"\"`, "AND", "a:b AND AND c:d",
		"container:/pci/ fingerprint:x", `metadata.k:"v\\"`, "type:token\tdata:1\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := ParseQuery(in)
		if err != nil {
			p, ok := err.(*edge.Problem)
			if !ok || p.Status != 400 || len(p.Errors["query"]) != 1 {
				t.Fatalf("%q: not a 400 on query: %#v", in, err)
			}
			return
		}
		n := len(q.Data) + len(q.Metadata)
		for _, s := range []string{q.Type, q.ContainerPrefix, q.Fingerprint} {
			if s != "" {
				n++
			}
		}
		if n == 0 || n > MaxQueryTerms {
			t.Fatalf("%q: parsed to %d terms", in, n)
		}
		for _, d := range q.Data {
			if d == "" {
				t.Fatalf("%q: empty data term", in)
			}
		}
	})
}
