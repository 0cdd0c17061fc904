package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// End-to-end tests of the access rules (SPEC §3) on every token path, through real sockets.

// rule is one access rule as a client sends it.
func rule(priority int, container, transform string, perms ...string) map[string]any {
	return map[string]any{"description": fmt.Sprint("rule ", priority), "priority": priority, "container": container,
		"transform": transform, "permissions": perms}
}

// rulesApp creates (as the admin) a private application holding rules and the non-token
// permissions perms, and returns its key.
func (e *testEdge) rulesApp(perms []string, rules ...map[string]any) string {
	e.t.Helper()
	body := map[string]any{"name": "ruled", "type": "private", "rules": rules}
	if perms != nil {
		body["permissions"] = perms
	}
	return e.do("POST", "/applications", e.adminKey, body).expect(e.t, 201).json(e.t)["key"].(string)
}

// tokenIn vaults a token-type token holding data in containers, as the admin.
func (e *testEdge) tokenIn(data string, containers ...string) string {
	e.t.Helper()
	return e.token(e.adminKey, map[string]any{"type": "token", "data": data, "containers": containers})
}

// sameAsUnknown fails unless hidden (the answer for a token the rules do not cover) and unknown
// (for an id never vaulted) are the same answer but for the ids: no existence oracle.
func sameAsUnknown(t *testing.T, hidden, unknown *resp, hiddenID, unknownID string) {
	t.Helper()
	if hidden.status < 400 {
		t.Fatalf("the token the rules do not cover was used: %d %s", hidden.status, hidden.body)
	}
	hb := strings.ReplaceAll(string(hidden.body), hiddenID, "ID")
	ub := strings.ReplaceAll(string(unknown.body), unknownID, "ID")
	if hidden.status != unknown.status || hb != ub {
		t.Fatalf("hidden and unknown tokens answer differently:\nhidden:  %d %s\nunknown: %d %s", hidden.status, hb, unknown.status, ub)
	}
	if hh, uh := headersBut(hidden.header), headersBut(unknown.header); hh != uh {
		t.Fatalf("headers differ:\nhidden:  %s\nunknown: %s", hh, uh)
	}
}

// TestRulesDecideTokenAPIByPriorityAndPrefix: on GET, PATCH, DELETE and POST /tokens the first
// rule by ascending priority that grants the operation and whose container prefixes one of the
// token's decides, and its transform shapes data: reveal, mask (the type's default), redact.
// A token no rule covers for the operation is a 404 byte for byte like an unknown id; a caller
// no rule of which grants the operation anywhere gets 403.
func TestRulesDecideTokenAPIByPriorityAndPrefix(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	key := e.rulesApp(nil,
		rule(40, "/bank/", "reveal", "token:create"), // given out of order: priority decides
		rule(10, "/pci/high/", "mask", "token:read"),
		rule(20, "/pci/", "reveal", "token:read", "token:update"),
		rule(30, "/general/", "redact", "token:read", "token:delete"),
	)
	card := e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan}) // /pci/high/
	low := e.tokenIn("low-secret", "/pci/low/")
	general := e.tokenIn("general-secret", "/general/high/")
	bank := e.tokenIn("bank-secret", "/bank/high/") // only a create rule covers it
	pii := e.tokenIn("pii-secret", "/pii/high/")    // no rule covers it
	unknown := edge.NewID()

	data := func(id string) (any, bool) {
		v, ok := e.do("GET", "/tokens/"+id, key, nil).expect(t, 200).json(t)["data"]
		return v, ok
	}
	for _, tc := range []struct {
		name    string
		id      string
		want    any
		hasData bool
	}{
		{"the narrower rule comes first: mask", card, "XXXXXXXXXXXX1111", true},
		{"prefix match: reveal", low, "low-secret", true},
		{"redact shows no data", general, nil, false},
	} {
		t.Run("GET "+tc.name, func(t *testing.T) {
			if got, ok := data(tc.id); got != tc.want || ok != tc.hasData {
				t.Fatalf("data %v (present %v), want %v (present %v)", got, ok, tc.want, tc.hasData)
			}
		})
	}
	t.Run("GET uncovered is unknown", func(t *testing.T) {
		for _, id := range []string{bank, pii} {
			sameAsUnknown(t, e.do("GET", "/tokens/"+id, key, nil), e.do("GET", "/tokens/"+unknown, key, nil), id, unknown)
		}
	})
	t.Run("PATCH is shaped by the update rule", func(t *testing.T) {
		got := e.do("PATCH", "/tokens/"+card, key, map[string]any{"metadata": map[string]string{"k": "v"}}).expect(t, 200).json(t)
		if got["data"] != pan {
			t.Fatalf("update answer data %v, want the reveal of the /pci/ update rule", got["data"])
		}
		patch := map[string]any{"metadata": map[string]string{"k": "v"}}
		sameAsUnknown(t, e.do("PATCH", "/tokens/"+general, key, patch), e.do("PATCH", "/tokens/"+unknown, key, patch), general, unknown)
	})
	t.Run("DELETE only where a rule grants it", func(t *testing.T) {
		sameAsUnknown(t, e.do("DELETE", "/tokens/"+low, key, nil), e.do("DELETE", "/tokens/"+unknown, key, nil), low, unknown)
		e.do("DELETE", "/tokens/"+general, key, nil).expect(t, 204)
	})
	t.Run("POST creates only where a rule grants it, shaped by it", func(t *testing.T) {
		got := e.do("POST", "/tokens", key, map[string]any{"type": "token", "data": "mine", "containers": []string{"/bank/low/"}}).expect(t, 201).json(t)
		if got["data"] != "mine" {
			t.Fatalf("create answer data %v, want the reveal of the /bank/ create rule", got["data"])
		}
		e.do("POST", "/tokens", key, map[string]any{"type": "card_number", "data": pan}).expectProblem(t, 403, false)
	})
	t.Run("no rule grants the operation anywhere: 403", func(t *testing.T) {
		creator := e.rulesApp(nil, rule(1, "/", "reveal", "token:create"))
		for _, id := range []string{card, unknown} {
			e.do("GET", "/tokens/"+id, creator, nil).expectProblem(t, 403, false)
			e.do("DELETE", "/tokens/"+id, creator, nil).expectProblem(t, 403, false)
		}
	})
	if got := e.do("GET", "/tokens/"+low, e.adminKey, nil).expect(t, 200).json(t)["data"]; got != "low-secret" {
		t.Fatalf("the refused delete removed the token: %v", got)
	}
}

// TestLegacyPermissionsBehaveAsRulesOnRoot: an application given only permissions reads with
// mask (token:read), with reveal (token:reveal), searches with mask (token:search, and only
// with it), and creates with a masked answer; its containers narrow all of that.
func TestLegacyPermissionsBehaveAsRulesOnRoot(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	card := e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan, "metadata": map[string]string{"run": "legacy"}})
	const masked = "XXXXXXXXXXXX1111"
	for _, tc := range []struct {
		name       string
		perms      []string
		containers []string
		read       int
		data       any
		search     int
	}{
		{"token:read masks", []string{"token:read"}, nil, 200, masked, 403},
		{"token:reveal reveals", []string{"token:read", "token:reveal"}, nil, 200, pan, 403},
		{"token:search masks", []string{"token:read", "token:search"}, nil, 200, masked, 200},
		{"containers narrow", []string{"token:read", "token:reveal", "token:search"}, []string{"/general/"}, 404, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := e.appWith("private", tc.containers, tc.perms...)
			r := e.do("GET", "/tokens/"+card, key, nil).expect(t, tc.read)
			if tc.read == 200 && r.json(t)["data"] != tc.data {
				t.Fatalf("data %v, want %v", r.json(t)["data"], tc.data)
			}
			s := e.do("POST", "/v2/tokens/search", key, map[string]any{"query": "metadata.run:legacy"}).expect(t, tc.search)
			if tc.search != 200 {
				return
			}
			found := s.json(t)["data"].([]any)
			if tc.containers == nil && (len(found) != 1 || found[0].(map[string]any)["data"] != masked) {
				t.Fatalf("search: %s", s.body)
			}
			if tc.containers != nil && len(found) != 0 {
				t.Fatalf("search outside the containers: %s", s.body)
			}
		})
	}
	creator := e.appWith("private", nil, "token:create")
	got := e.do("POST", "/tokens", creator, map[string]any{"type": "card_number", "data": pan}).expect(t, 201).json(t)
	if got["data"] != masked {
		t.Fatalf("create answer %v, want masked", got["data"])
	}
}

// TestRulesPickAndShapeSearchAndList: search returns only the tokens a token:search rule
// covers, each shaped by it; the v2 list, those a token:read rule covers; a caller without
// the permission in any rule gets 403.
func TestRulesPickAndShapeSearchAndList(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	meta := map[string]string{"run": "rules"}
	card := e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan, "metadata": meta})
	general := e.token(e.adminKey, map[string]any{"type": "token", "data": "general-secret", "metadata": meta})
	e.token(e.adminKey, map[string]any{"type": "token", "data": "bank-secret", "containers": []string{"/bank/"}, "metadata": meta})
	key := e.rulesApp(nil,
		rule(1, "/pci/", "mask", "token:search"),
		rule(2, "/general/", "reveal", "token:search", "token:read"),
	)
	dataOf := func(r *resp) map[string]any {
		out := map[string]any{}
		for _, v := range r.json(t)["data"].([]any) {
			m := v.(map[string]any)
			out[m["id"].(string)] = m["data"]
		}
		return out
	}
	searched := dataOf(e.do("POST", "/v2/tokens/search", key, map[string]any{"query": "metadata.run:rules"}).expect(t, 200))
	if len(searched) != 2 || searched[card] != "XXXXXXXXXXXX1111" || searched[general] != "general-secret" {
		t.Fatalf("search: %v", searched)
	}
	listed := dataOf(e.do("GET", "/v2/tokens?metadata.run=rules", key, nil).expect(t, 200))
	if len(listed) != 1 || listed[general] != "general-secret" {
		t.Fatalf("list: %v", listed)
	}
	reader := e.rulesApp(nil, rule(1, "/", "reveal", "token:read"))
	e.do("POST", "/v2/tokens/search", reader, map[string]any{"query": "metadata.run:rules"}).expectProblem(t, 403, false)
	searcher := e.rulesApp(nil, rule(1, "/", "mask", "token:search"))
	e.do("GET", "/v2/tokens?metadata.run=rules", searcher, nil).expectProblem(t, 403, false)
}

// TestRulesDecideDetokenization: /proxy (ephemeral and pre-configured), /detokenize and
// /vault_proxy/reflect render a token only when the rule deciding token:use, or the one deciding
// token:read, reveals it. Any other token answers byte for byte as an unknown id (400, wrapped
// on proxy routes) and nothing is forwarded; a caller no rule of which grants use or read gets 403.
func TestRulesDecideDetokenization(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	key := e.rulesApp([]string{"proxy:create"},
		rule(1, "/pci/high/", "mask", "token:use", "token:read"), // decides both first: hidden
		rule(2, "/pci/", "reveal", "token:use"),
		rule(3, "/general/", "reveal", "token:read"),
		rule(4, "/bank/", "redact", "token:read"),
	)
	high := e.token(e.adminKey, map[string]any{"type": "card_number", "data": pan})
	low := e.tokenIn("low-secret", "/pci/low/")
	general := e.tokenIn("general-secret", "/general/high/")
	bank := e.tokenIn("bank-secret", "/bank/high/")
	pii := e.tokenIn("pii-secret", "/pii/")
	unknown := edge.NewID()
	px := e.do("POST", "/proxies", key, map[string]any{"name": "ruled", "destination_url": dest.url,
		"require_auth": false}).expect(t, 201).json(t)
	body := func(id string) string { return `{"v":"{{ ` + id + ` }}"}` }

	paths := []struct {
		name string
		send func(id string) *resp // the answer holds what was rendered (the destination echoes)
	}{
		{"/proxy", func(id string) *resp { return e.do("POST", "/proxy", key, body(id), "BT-PROXY-URL", dest.url) }},
		{"/proxy pre-configured, anonymous", func(id string) *resp {
			return e.do("POST", "/proxy", "", body(id), "BT-PROXY-KEY", px["key"].(string))
		}},
		{"/detokenize", func(id string) *resp { return e.do("POST", "/detokenize", key, body(id)) }},
		{"/vault_proxy/reflect", func(id string) *resp { return e.do("POST", "/vault_proxy/reflect", key, body(id)) }},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			for id, want := range map[string]string{low: "low-secret", general: "general-secret"} {
				if r := p.send(id).expect(t, 200); !strings.Contains(string(r.body), want) {
					t.Fatalf("%s not rendered: %s", want, r.body)
				}
			}
			forwarded := len(dest.requests())
			for _, id := range []string{high, bank, pii} {
				sameAsUnknown(t, p.send(id), p.send(unknown), id, unknown)
			}
			if n := len(dest.requests()); n != forwarded {
				t.Fatalf("%d requests forwarded with a token the rules hide", n-forwarded)
			}
		})
	}
	for _, r := range dest.requests() {
		if s := string(r.body); strings.Contains(s, pan) || strings.Contains(s, "bank-secret") || strings.Contains(s, "pii-secret") {
			t.Fatalf("a hidden token reached the destination: %s", s)
		}
	}
	creator := e.rulesApp(nil, rule(1, "/", "reveal", "token:create"))
	e.do("POST", "/detokenize", creator, body(general)).expectProblem(t, 403, false)
	e.do("POST", "/proxy", creator, body(general), "BT-PROXY-URL", dest.url).expectProblem(t, 403, true)
	e.do("POST", "/vault_proxy/reflect", creator, body(general)).expectProblem(t, 403, true)
}

// TestRulesDecideTransformCreatedTokens: a proxy's tokenize transform creates its token with the
// invoking application's create rights on the new token's container: allowed by a create rule
// covering it, else 403 and nothing forwarded.
func TestRulesDecideTransformCreatedTokens(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	tokenize := func(containers ...string) any {
		tpl := map[string]any{"type": "card_number"}
		if containers != nil {
			tpl["containers"] = containers
		}
		return map[string]any{"type": "tokenize", "options": map[string]any{"location": "$.n", "token": tpl}}
	}
	proxyKey := func(name string, containers ...string) string {
		return e.do("POST", "/proxies", e.adminKey, map[string]any{"name": name, "destination_url": dest.url,
			"request_transforms": []any{tokenize(containers...)}}).expect(t, 201).json(t)["key"].(string)
	}
	pci, general := proxyKey("pci"), proxyKey("general", "/general/cards/")
	key := e.rulesApp([]string{"proxy:invoke"},
		rule(1, "/general/", "reveal", "token:create", "token:read"),
		rule(2, "/", "mask", "token:read"),
	)
	e.do("POST", "/proxy", key, `{"n":"`+pan+`"}`, "BT-PROXY-KEY", pci).expectProblem(t, 403, true)
	if len(dest.requests()) != 0 {
		t.Fatal("forwarded after a tokenize the rules refused")
	}
	e.do("POST", "/proxy", key, `{"n":"`+pan+`"}`, "BT-PROXY-KEY", general).expect(t, 200)
	var sent struct{ N string }
	if err := json.Unmarshal(dest.last(t).body, &sent); err != nil || sent.N == pan || sent.N == "" {
		t.Fatalf("the destination got %s", dest.last(t).body)
	}
	if got := e.do("GET", "/tokens/"+sent.N, key, nil).expect(t, 200).json(t); got["data"] != pan ||
		fmt.Sprint(got["containers"]) != "[/general/cards/]" {
		t.Fatalf("the transform's token: %v", got)
	}
}

// TestApplicationsKeepAndBoundRules: rules are echoed in every application answer, validated
// (400 naming the rule's field), bounded, kept on update (PUT and PATCH), and a key cannot
// grant rules broader than its own.
func TestApplicationsKeepAndBoundRules(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	rules := []any{rule(2, "/pci/", "mask", "token:read"), rule(1, "/general/", "reveal", "token:read", "token:create")}
	created := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "r", "type": "private", "rules": rules}).expect(t, 201).json(t)
	id := created["id"].(string)
	echoed := func(m map[string]any) string {
		var out []string
		for _, r := range m["rules"].([]any) {
			r := r.(map[string]any)
			out = append(out, strings.TrimSpace(fmt.Sprintln(r["priority"], r["container"], r["transform"], r["permissions"], r["description"])))
		}
		return strings.Join(out, ";")
	}
	const want = "2 /pci/ mask [token:read] rule 2;1 /general/ reveal [token:read token:create] rule 1"
	for name, m := range map[string]map[string]any{
		"create": created,
		"get":    e.do("GET", "/applications/"+id, e.adminKey, nil).expect(t, 200).json(t),
		"by key": e.do("GET", "/applications/key", created["key"].(string), nil).expect(t, 200).json(t),
	} {
		if got := echoed(m); got != want {
			t.Fatalf("%s echoes rules %q, want %q", name, got, want)
		}
	}
	for _, method := range []string{"PUT", "PATCH"} {
		m := e.do(method, "/applications/"+id, e.adminKey, map[string]any{"rules": []any{rule(5, "/", "redact", "token:read")}}).expect(t, 200).json(t)
		if got := echoed(m); got != "5 / redact [token:read] rule 5" {
			t.Fatalf("%s: rules %q", method, got)
		}
	}
	many := make([]any, edge.MaxRules+1)
	for i := range many {
		many[i] = rule(i, "/", "mask", "token:read")
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"duplicate priority", map[string]any{"rules": []any{rule(1, "/a/", "mask", "token:read"), rule(1, "/b/", "mask", "token:read")}}, "rules[1].priority"},
		{"container", map[string]any{"rules": []any{rule(1, "pci", "mask", "token:read")}}, "rules[0].container"},
		{"transform", map[string]any{"rules": []any{rule(1, "/", "show", "token:read")}}, "rules[0].transform"},
		{"not a token permission", map[string]any{"rules": []any{rule(1, "/", "mask", "proxy:invoke")}}, "rules[0].permissions"},
		{"too many", map[string]any{"rules": many}, "rules"},
		{"rules and containers", map[string]any{"rules": []any{rule(1, "/", "mask", "token:read")}, "containers": []string{"/pci/"}}, "containers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["name"], tc.body["type"] = "bad", "private"
			p := e.do("POST", "/applications", e.adminKey, tc.body).expectProblem(t, 400, false)
			if _, ok := p["errors"].(map[string]any)[tc.field]; !ok {
				t.Fatalf("the refusal does not name %s: %v", tc.field, p)
			}
		})
	}
	public := map[string]any{"name": "p", "type": "public", "rules": []any{rule(1, "/", "mask", "token:read")}}
	e.do("POST", "/applications", e.adminKey, public).expectProblem(t, 400, false)

	manager := e.rulesApp([]string{"application:create", "application:update"}, rule(1, "/general/", "mask", "token:read"))
	for name, rs := range map[string][]any{
		"broader container":  {rule(1, "/", "mask", "token:read")},
		"stronger transform": {rule(1, "/general/", "reveal", "token:read")},
		"another operation":  {rule(1, "/general/", "mask", "token:use")},
	} {
		t.Run("grant "+name, func(t *testing.T) {
			e.do("POST", "/applications", manager, map[string]any{"name": "x", "type": "private", "rules": rs}).expectProblem(t, 403, false)
		})
	}
	e.do("POST", "/applications", manager, map[string]any{"name": "x", "type": "private",
		"rules": []any{rule(1, "/general/high/", "redact", "token:read")}}).expect(t, 201)
	e.do("PUT", "/applications/"+id, manager, map[string]any{"name": "taken"}).expectProblem(t, 403, false)
}
