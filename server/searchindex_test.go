package server

import (
	"strings"
	"testing"
)

// Blind search indexes (SPEC §4): `data:` terms find a token only through the keyed hashes of
// what its search_indexes rendered when its data was set.

func (e *testEdge) searchIDs(key, query string) []string {
	e.t.Helper()
	return e.pageCursor(100, func(start string) *resp {
		body := map[string]any{"query": query, "size": 100}
		if start != "" {
			body["start"] = start
		}
		return e.do("POST", "/v2/tokens/search", key, body)
	}, nil)
}

// TestSearchDataThroughIndexesOnly: a token is found by what its indexes render and by
// nothing else (not its raw data when no index yields it); an SSN has BT's default indexes;
// new data replaces the old values' hashes.
func TestSearchDataThroughIndexesOnly(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	mail := e.do("POST", "/tokens", e.adminKey, map[string]any{
		"type": "token", "data": map[string]string{"email": "Ada@Example.com", "name": "Ada"},
		"search_indexes": []string{"{{ data.email | downcase }}", "{{ data.name }}"},
	}).expect(t, 201).json(t)
	if got := mail["search_indexes"].([]any); len(got) != 2 {
		t.Fatalf("search_indexes not echoed: %v", mail)
	}
	id := mail["id"].(string)
	ssn := e.token(e.adminKey, map[string]any{"type": "social_security_number", "data": "123-45-6789"})
	plain := e.token(e.adminKey, map[string]any{"type": "token", "data": "ada@example.com"})

	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"an index value", "data:ada@example.com", []string{id}},
		{"the other index", `data:"Ada" AND type:token`, []string{id}},
		{"raw data no index yields", "data:Ada@Example.com", nil},
		{"ssn whole", "data:123-45-6789", []string{ssn}},
		{"ssn without dashes", "data:123456789", []string{ssn}},
		{"ssn last 4", "data:6789 AND type:social_security_number", []string{ssn}},
		{"ssn part that is no index", "data:45", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { sameIDs(t, e.searchIDs(e.adminKey, tc.query), tc.want) })
	}
	_ = plain // a token-type token has no default index: never found by data

	e.do("PATCH", "/tokens/"+id, e.adminKey, map[string]any{"data": map[string]string{"email": "grace@example.com"}}).expect(t, 200)
	sameIDs(t, e.searchIDs(e.adminKey, "data:grace@example.com"), []string{id})
	sameIDs(t, e.searchIDs(e.adminKey, "data:ada@example.com"), nil)
}

// TestRejectSearchIndexesThatReachBeyondTheToken: an index naming another token or a config
// value is refused naming search_indexes, too many are refused before any is parsed, and a
// caller without token:reveal may not add an index over existing data (it would probe it).
func TestRejectSearchIndexesThatReachBeyondTheToken(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	victim := e.token(e.adminKey, map[string]any{"type": "token", "data": "victim-secret"})
	for _, tc := range []struct {
		name string
		idx  []string
	}{
		{"another token", []string{"{{ " + victim + " }}"}},
		{"config", []string{"{{ config: KEY }}"}},
		{"malformed", []string{"{{ data | no_such_filter }}"}},
		{"too many", make([]string, 17)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/tokens", e.adminKey, map[string]any{"type": "token", "data": "x", "search_indexes": tc.idx}).expectProblem(t, 400, false)
			if _, ok := p["errors"].(map[string]any)["search_indexes"]; !ok {
				t.Fatalf("the refusal does not name search_indexes: %v", p)
			}
		})
	}
	updater := e.appWith("private", nil, "token:update", "token:read")
	e.do("PATCH", "/tokens/"+victim, updater, map[string]any{"search_indexes": []string{"{{ data | slice: 0, 1 }}"}}).expectProblem(t, 403, false)
	if strings.Contains(e.logText(), "victim-secret") {
		t.Fatal("token data in the log")
	}
}
