package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// POST /detokenize (SPEC §4) through real sockets.

// TestDetokenizeResolvesExpressionsInAnyJSON: expressions anywhere in the JSON resolve (escaped
// for their JSON string), other values pass untouched, and each token read is audited.
func TestDetokenizeResolvesExpressionsInAnyJSON(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	c := e.token(e.adminKey, cardBody(pan))
	q := e.token(e.adminKey, map[string]any{"type": "token", "data": `say "hi"`})
	out := e.do("POST", "/detokenize", e.adminKey, map[string]any{
		"number":    "{{ " + c + " | json: '$.number' }}",
		"nested":    map[string]any{"value": "{{ " + q + " }}", "list": []any{"x {{ " + c + " | json: '$.number' | last4 }}"}},
		"untouched": 42,
	}).expect(t, 200)
	var got map[string]any
	if err := json.Unmarshal(out.body, &got); err != nil {
		t.Fatalf("not JSON: %s", out.body)
	}
	want := map[string]any{"number": pan, "nested": map[string]any{"value": `say "hi"`, "list": []any{"x " + pan[12:]}}, "untouched": float64(42)}
	if b1, b2 := mustJSON(got), mustJSON(want); b1 != b2 {
		t.Fatalf("got %s, want %s", b1, b2)
	}
	logs := e.do("GET", "/logs?entity_type=token&operation=detokenize&size=100", e.adminKey, nil).expect(t, 200).body
	for _, id := range []string{c, q} {
		if !strings.Contains(string(logs), id) {
			t.Fatalf("no audit record of reading %s: %s", id, logs)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDetokenizeRefusesUnknownHiddenAndUnentitled: an unknown token and a token in a container
// the caller may not use answer the same 400 naming the expression; a caller without
// token:read, or with read but no right to plaintext, gets 403 before its body is judged; a
// malformed expression is a 400. No refusal holds plaintext.
func TestDetokenizeRefusesUnknownHiddenAndUnentitled(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	card := e.token(e.adminKey, cardBody(pan))
	gen := e.appWith("private", []string{"/general/"}, "token:read", "token:reveal")
	unknown := e.do("POST", "/detokenize", gen, map[string]any{"x": "{{ no-such-token }}"}).expectProblem(t, 400, false)
	hidden := e.do("POST", "/detokenize", gen, map[string]any{"x": "{{ " + card + " }}"}).expectProblem(t, 400, false)
	if strings.Contains(mustJSON(hidden), pan) || mustJSON(unknown["errors"]) != strings.ReplaceAll(mustJSON(hidden["errors"]), card, "no-such-token") {
		t.Fatalf("a hidden token answers unlike an unknown one: %v vs %v", hidden, unknown)
	}
	e.do("POST", "/detokenize", e.adminKey, map[string]any{"x": "{{ " + card + " | no_such_filter }}"}).expectProblem(t, 400, false)
	writer := e.appWith("private", nil, "token:create")
	e.do("POST", "/detokenize", writer, "{not json").expectProblem(t, 403, false)
	masked := e.appWith("private", nil, "token:read")
	e.do("POST", "/detokenize", masked, map[string]any{"x": "{{ " + card + " }}"}).expectProblem(t, 403, false)
	if strings.Contains(e.logText(), pan) {
		t.Fatal("plaintext in the log")
	}
}
