package expr

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// customIDEnv knows tokens under Basis Theory custom ids; each one's data is its id's label.
func customIDEnv() *testEnv {
	ids := map[string]string{"cust.42@acme": `"acme"`, "order:1": `"order"`, "user 7": `"user"`, "it's": `"its"`,
		`say "hi"`: `"hi"`, strings.Repeat("x", MaxIDLen): `"long"`, "ünï": `"unicode"`}
	env := &testEnv{data: map[string][]byte{}, obj: map[string][]byte{}}
	for id, data := range ids {
		env.data[id] = []byte(data)
		env.obj[id] = []byte(`{"id":"-","data":` + data + `}`)
	}
	return env
}

// TestQuotedTokenIDNamesCustomID: {{ token: '…' }} names a custom id with characters a bare id
// cannot hold (., @, :, space, quotes), in every context.
func TestQuotedTokenIDNamesCustomID(t *testing.T) {
	cases := []struct {
		name, src, id, want string
		ctx                 Context
	}{
		{"dot and at", `{{ token: 'cust.42@acme' | json: '$.data' }}`, "cust.42@acme", `acme`, Text},
		{"colon", `{{ token: "order:1" | json: '$.data' }}`, "order:1", `order`, Text},
		{"space", `{{token:'user 7'|json:'$.data'}}`, "user 7", `user`, Text},
		{"apostrophe in double quotes", `{{ token: "it's" | json: '$.data' }}`, "it's", `its`, Text},
		{"double quote in single quotes", `{{ token: 'say "hi"' | json: '$.data' }}`, `say "hi"`, `hi`, Text},
		{"longest", `{{ token: '` + strings.Repeat("x", MaxIDLen) + `' | json: '$.data' }}`, strings.Repeat("x", MaxIDLen), `long`, Text},
		{"unicode", `{{ token: 'ünï' | json: '$.data' }}`, "ünï", `unicode`, Text},
		{"dotted path after the id", `{{ token: 'cust.42@acme'.data }}`, "cust.42@acme", `acme`, Text},
		{"whole object", `{{ token: 'order:1' }}`, "order:1", `{"id":"-","data":"order"}`, Text},
		{"in a JSON string", `{"a":"{{ token: 'cust.42@acme' | json: '$.data' }}"}`, "cust.42@acme", `{"a":"acme"}`, JSON},
		{"JSON-escaped quotes in a JSON string", `{"a":"{{ token: \"it's\" | json: '$.data' }}"}`, "it's", `{"a":"its"}`, JSON},
		{"bare id still works", `{{ token: order-1 | json: '$.data' }}`, "order-1", ``, Text},
	}
	env := customIDEnv()
	env.data["order-1"], env.obj["order-1"] = []byte(`""`), []byte(`{"data":""}`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ids []string
			if _, err := Scan([]byte(c.src), c.ctx, func(r Ref) error {
				if r.Kind != RefTokenObject {
					t.Errorf("kind %v, want token object", r.Kind)
				}
				ids = append(ids, string(r.ID))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || ids[0] != c.id {
				t.Fatalf("ids %q, want [%q]", ids, c.id)
			}
			r := Acquire()
			defer Release(r)
			got, err := r.Render(nil, []byte(c.src), c.ctx, env)
			if err != nil || string(got) != c.want {
				t.Fatalf("rendered %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestQuotedTokenIDCannotBreakOut: a quoted id holds none of Basis Theory's forbidden characters
// (braces among them, so it can neither end the expression nor open another), no control
// character, no invalid UTF-8, and no more than MaxIDLen bytes.
func TestQuotedTokenIDCannotBreakOut(t *testing.T) {
	cases := []struct {
		name, src string
		want      error
	}{
		{"closing braces end the expression first", `{{ token: 'a}}b' }}`, ErrSyntax},
		{"opening braces", `{{ token: 'a{{b' }}`, ErrSyntax},
		{"one brace", `{{ token: 'a}b' }}`, ErrSyntax},
		{"unterminated", `{{ token: 'abc }}`, ErrSyntax},
		{"mismatched quotes", `{{ token: 'abc" }}`, ErrSyntax},
		{"empty", `{{ token: '' }}`, ErrSyntax},
		{"slash", `{{ token: 'a/b' }}`, ErrSyntax},
		{"pipe", `{{ token: 'a|upcase' }}`, ErrSyntax},
		{"backslash", `{{ token: 'a\'b' }}`, ErrSyntax},
		{"percent", `{{ token: 'a%41' }}`, ErrSyntax},
		{"newline", "{{ token: 'a\nb' }}", ErrSyntax},
		{"nul", "{{ token: 'a\x00b' }}", ErrSyntax},
		{"invalid utf-8", "{{ token: 'a\xffb' }}", ErrSyntax},
		{"text after the id", `{{ token: 'abc'def }}`, ErrSyntax},
		{"too long", `{{ token: '` + strings.Repeat("x", MaxIDLen+1) + `' }}`, ErrTooLong},
		{"quoted bare source is not an id", `{{ 'abc' }}`, ErrSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Scan([]byte(c.src), Text, func(Ref) error { return nil })
			if !errors.Is(err, c.want) {
				t.Fatalf("Scan(%q) = %v, want %v", c.src, err, c.want)
			}
		})
	}
}

// FuzzQuotedTokenID: {{ token: '<id>' }} is accepted exactly when id is 1 to MaxIDLen bytes of
// UTF-8 without a forbidden character, a control character or a single quote, and then names
// exactly that id.
func FuzzQuotedTokenID(f *testing.F) {
	for _, s := range []string{"cust.42@acme", "order:1", "user 7", `say "hi"`, "it's", "a}}b", "{{a}}", "a/b", "",
		"ab\x00", "\xff", "é", "a'|upcase", strings.Repeat("x", MaxIDLen), strings.Repeat("x", MaxIDLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		src := "{{ token: '" + id + "' | json: '$.data' }}"
		if len(src) > MaxExprLen {
			return
		}
		var got []string
		_, err := Scan([]byte(src), Text, func(r Ref) error {
			got = append(got, string(r.ID))
			return nil
		})
		valid := len(id) > 0 && len(id) <= MaxIDLen && utf8.ValidString(id) && !strings.ContainsAny(id, `#/\+?[]|&=%<>{}^'`) &&
			!strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f })
		if valid != (err == nil) {
			t.Fatalf("id %q: valid %v, Scan error %v", id, valid, err)
		}
		if err == nil && (len(got) != 1 || got[0] != id) {
			t.Fatalf("id %q: Scan reported %q", id, got)
		}
	})
}
