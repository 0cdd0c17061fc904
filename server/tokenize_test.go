package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// POST /tokenize (SPEC §4) through real sockets: leaves and token requests become tokens, all
// or nothing.

// countTokens counts the live tokens matching query (a GET /v2/tokens filter; "" for all).
func (e *testEdge) countTokens(query string) int {
	e.t.Helper()
	return len(e.pageCursor(100, func(start string) *resp {
		return e.do("GET", "/v2/tokens?size=100&"+query+"&start="+start, e.adminKey, nil)
	}, nil))
}

func TestTokenizeReplacesLeavesAndTokenRequests(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	out := e.do("POST", "/tokenize", e.adminKey, `{
		"email": "ada@example.com",
		"card": {"type": "card_number", "data": "4242424242424242", "metadata": {"k": "v"}},
		"list": ["a", 12345678901234567890, null],
		"deep": {"x": {"y": true}}
	}`).expect(t, 200).json(t)

	reveal := func(id any) string {
		s, ok := id.(string)
		if !ok {
			t.Fatalf("not a token id: %v", id)
		}
		d := e.do("GET", "/tokens/"+s, e.adminKey, nil).expect(t, 200).json(t)["data"]
		b, _ := json.Marshal(d)
		return string(b)
	}
	if got := reveal(out["email"]); got != `"ada@example.com"` {
		t.Fatalf("email token holds %s", got)
	}
	card := out["card"].(map[string]any)
	if card["type"] != "card_number" || card["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("a token request answers the created token: %v", card)
	}
	if strings.Contains(fmt.Sprint(card), "42424242424242") {
		t.Fatalf("the answer shows the card number: %v", card)
	}
	if got := reveal(card["id"]); got != `"4242424242424242"` {
		t.Fatalf("card token holds %s", got)
	}
	list := out["list"].([]any)
	if reveal(list[0]) != `"a"` || list[2] != nil {
		t.Fatalf("list: %v", list)
	}
	if got := e.do("GET", "/tokens/"+list[1].(string), e.adminKey, nil).body; !strings.Contains(string(got), `"data":12345678901234567890`) {
		t.Fatalf("a large number lost precision: %s", got)
	}
	if reveal(out["deep"].(map[string]any)["x"].(map[string]any)["y"]) != "true" {
		t.Fatalf("deep leaf: %v", out["deep"])
	}
}

// TestTokenizeIsAllOrNothing: one invalid item (bad card, unknown type, an id taken in the
// vault or twice in the body) refuses the whole body with a 400 naming its path, and no token
// of the body is stored.
func TestTokenizeIsAllOrNothing(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	e.token(e.adminKey, map[string]any{"id": "taken-id", "type": "token", "data": "x"})
	before := e.countTokens("")
	good := `"a": {"type": "token", "data": "one", "metadata": {"run": "aon"}}, "b": ["leaf"]`
	for _, tc := range []struct{ name, bad, path string }{
		{"invalid card", `"bad": {"type": "card_number", "data": "1234"}`, "$.bad"},
		{"unknown type", `"bad": {"type": "nope", "data": "x"}`, "$.bad"},
		{"id in the vault", `"bad": {"type": "token", "id": "taken-id", "data": "x"}`, "$.bad"},
		{"id twice in the body", `"bad": [{"type": "token", "id": "twice-id", "data": "x"}, {"type": "token", "id": "twice-id", "data": "y"}]`, "$.bad[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/tokenize", e.adminKey, "{"+good+", "+tc.bad+"}").expectProblem(t, 400, false)
			if _, ok := p["errors"].(map[string]any)[tc.path]; !ok {
				t.Fatalf("the refusal does not name %s: %v", tc.path, p)
			}
			if n := e.countTokens(""); n != before {
				t.Fatalf("%d tokens after a refused body, want %d", n, before)
			}
		})
	}
	reader := e.appWith("private", nil, "token:read")
	e.do("POST", "/tokenize", reader, `{"a": "b"}`).expectProblem(t, 403, false)
	outside := e.appWith("private", []string{"/general/"}, "token:create")
	e.do("POST", "/tokenize", outside, `{"a": "b", "c": {"type": "card_number", "data": "4242424242424242"}}`).expectProblem(t, 403, false)
	if n := e.countTokens(""); n != before {
		t.Fatalf("%d tokens after refused bodies, want %d", n, before)
	}
}
