package server

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/proxy"
)

// TestRejectJSONBreakoutUnquotedValueTextPlain: a JSON template whose expression is not in quotes
// (`{"name": {{ id }}}`, as BT's guides write object insertions), labelled text/plain or not at
// all, whole, chunked or streamed past the whole-body limit, or in a JSON header: a token value
// `"x","role":"admin"` stays one JSON string and adds no key.
func TestRejectJSONBreakoutUnquotedValueTextPlain(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	const evil = `"x","role":"admin"`
	id := e.token(e.adminKey, map[string]any{"data": evil})
	small := []byte(`{"name": {{ ` + id + ` }}}`)
	pad := strings.Repeat("p", proxy.BufferLimit+1000)
	large := []byte(`{"pad":"` + pad + `","name": {{ ` + id + ` }}}`)
	cases := []struct {
		name, label string
		body        []byte
		chunked     bool
		keys        []string
	}{
		{"text/plain", "text/plain", small, false, []string{"name"}},
		{"unlabelled", "", small, false, []string{"name"}},
		{"text/plain chunked", "text/plain", small, true, []string{"name"}},
		{"streamed", "text/plain", large, false, []string{"name", "pad"}},
		{"streamed chunked", "", large, true, []string{"name", "pad"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.sendBody(dest, tc.label, tc.body, tc.chunked).expect(t, 200)
			got := dest.last(t).body
			if keys := jsonKeys(t, got); !reflect.DeepEqual(keys, [][]string{tc.keys}) {
				t.Fatalf("the destination got keys %v: %.200s", keys, got)
			}
			var m map[string]any
			if json.Unmarshal(got, &m); m["name"] != evil {
				t.Fatalf("name %q, want the token's value", m["name"])
			}
		})
	}
	t.Run("header", func(t *testing.T) {
		e.sendBody(dest, "application/json", []byte(`{}`), false, "X-Arg", `{"path": {{ `+id+` }}, "n": `+strconv.Itoa(1)+`}`).expect(t, 200)
		got := dest.last(t).header.Get("X-Arg")
		if keys := jsonKeys(t, []byte(got)); !reflect.DeepEqual(keys, [][]string{{"n", "path"}}) {
			t.Fatalf("X-Arg has keys %v: %s", keys, got)
		}
	})
}
