package server

import (
	"encoding/base64"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// TestRulesDecideReactorArgsAndTokens: a reactor's args are detokenized, and what it returns to
// tokenize is vaulted, under its application's rules: a token whose deciding use rule masks is
// unknown (the same answer as an id never vaulted), a token is created only where a create
// rule covers its container.
func TestRulesDecideReactorArgsAndTokens(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	app := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "reactor app", "type": "private", "rules": []any{
		rule(1, "/pci/", "mask", "token:use"),
		rule(2, "/general/", "reveal", "token:use", "token:create"),
	}}).expect(t, 201).json(t)
	echo := base64.StdEncoding.EncodeToString(testdataWasm(t, "reactecho")) // answers its args as its result
	r := e.newReactor(e.adminKey, "echo", echo, nil, "application", map[string]string{"id": app["id"].(string)})
	react := func(args any) *resp {
		return e.do("POST", "/reactors/"+r["id"].(string)+"/react", e.adminKey, map[string]any{"args": args})
	}
	general := e.tokenIn("general-secret", "/general/high/")
	card := e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan})
	unknown := edge.NewID()

	if got := react(map[string]any{"raw": "{{ " + general + " }}"}).expect(t, 200).json(t); got["raw"] != "general-secret" {
		t.Fatalf("react answer %v", got)
	}
	sameAsUnknown(t, react(map[string]any{"raw": "{{ " + card + " }}"}), react(map[string]any{"raw": "{{ " + unknown + " }}"}), card, unknown)

	made := react(map[string]any{"tokenize": map[string]any{"v": "made-by-reactor"}}).expect(t, 200).json(t)
	id, _ := made["tokens"].(map[string]any)["v"].(string)
	if got := e.do("GET", "/tokens/"+id, e.adminKey, nil).expect(t, 200).json(t); got["data"] != "made-by-reactor" {
		t.Fatalf("the reactor's token: %v", got)
	}
	react(map[string]any{"tokenize": map[string]any{"v": map[string]any{"type": "card_number", "data": pan}}}).expectProblem(t, 403, false)
}
