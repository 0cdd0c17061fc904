package expr

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// valueBreakout is a token value that, pasted unquoted among JSON values, adds a "role" key.
const valueBreakout = `"x","role":"admin"`

// TestRejectJSONBreakoutUnquotedValueInBody: in a Body or a Header, an expression outside strings
// but among JSON values (inside braces or brackets) renders a valid JSON value, as in a JSON body,
// so a value cannot add keys or elements whatever the label; outside braces it stays as is.
func TestRejectJSONBreakoutUnquotedValueInBody(t *testing.T) {
	quoted := `"\"x\",\"role\":\"admin\""`
	cases := []struct {
		name, src, want string
		ctx             Context
	}{
		{"object value", `{"name": {{ t }}}`, `{"name": ` + quoted + `}`, Body},
		{"array element", `[{{ t }}, 1]`, `[` + quoted + `, 1]`, Body},
		{"nested after a string with braces", `{"a":"}]","b":[{"c":{{ t }}}]}`, `{"a":"}]","b":[{"c":` + quoted + `}]}`, Body},
		{"header json", `{"path": {{ t }}}`, `{"path": ` + quoted + `}`, Header},
		{"text outside braces", `Hello {{ t }}`, `Hello ` + valueBreakout, Body},
		{"text after closed braces", `{x} {{ t }}`, `{x} ` + valueBreakout, Body},
	}
	env := newAnyEnv(valueBreakout)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.src, tc.ctx, env)
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
			if tc.ctx != Body {
				return
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

// TestBodyRendersUnquotedJSONValuesSafely: a JSON template with unquoted expressions renders, in a
// Body, to JSON with the template's keys for any value (numbers and JSON stay as they are).
func TestBodyRendersUnquotedJSONValuesSafely(t *testing.T) {
	src := `{"a":{{ t }},"b":[{{ t }},{"c":{{ t }}}]}`
	for _, v := range append(fuzzValues, valueBreakout, `1,"role":"admin"`, `{"x":1}`, `]`, `}`) {
		got, err := render(t, src, Body, newAnyEnv(v))
		if err != nil {
			continue // a value that is not JSON where JSON is needed is refused, never pasted
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(got), &doc); err != nil || len(doc) != 2 {
			t.Fatalf("%q: %s is not the template's JSON: %v", v, got, err)
		}
	}
}
