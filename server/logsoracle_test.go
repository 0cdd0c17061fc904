package server

import (
	"strings"
	"testing"
)

// TestNoExistenceOracleInLogs: an application limited to /general/ with log:read asks GET /logs
// about a card token in /pci/high/ (an id it learned or guessed). It must get exactly what it
// gets for an id that does not exist — not the card's create and detokenize events (that it
// exists, who used it, when) — while the events of its own container's tokens stay visible.
func TestNoExistenceOracleInLogs(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	card := e.token(e.adminKey, cardBody("4111111111111111"))
	general := e.token(e.adminKey, map[string]any{"data": "hello"})
	for _, id := range []string{card, general} {
		e.do("POST", "/proxy", e.adminKey, `{"a":"{{ `+id+` }}"}`, "BT-PROXY-URL", dest.url+"/status/200", "Content-Type", "application/json").expect(t, 200)
	}
	m := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "auditor", "type": "private",
		"permissions": []string{"log:read"}, "containers": []string{"/general/"}}).expect(t, 201).json(t)
	key := m["key"].(string)

	const unknown = "00000000-0000-4000-8000-000000000000"
	asked := e.do("GET", "/logs?entity_id="+card, key, nil).expect(t, 200)
	none := e.do("GET", "/logs?entity_id="+unknown, key, nil).expect(t, 200)
	if string(asked.body) != string(none.body) {
		t.Fatalf("a token in another container answers differently from an unknown one:\n  %s\n  %s", asked.body, none.body)
	}
	all := string(e.do("GET", "/logs?size=100", key, nil).expect(t, 200).body)
	if strings.Contains(all, card) {
		t.Fatalf("the log shows events of a token outside the caller's containers: %.400s", all)
	}
	if !strings.Contains(all, general) {
		t.Fatalf("the log hides the caller's own container's token: %.400s", all)
	}
	if admin := string(e.do("GET", "/logs?entity_id="+card, e.adminKey, nil).expect(t, 200).body); !strings.Contains(admin, card) {
		t.Fatalf("the unrestricted key lost the card's events: %.300s", admin)
	}
}
