package server

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const pan = "4111111111111111"

func cardBody(number string) map[string]any {
	return map[string]any{"type": "card", "data": map[string]any{
		"number": number, "expiration_month": 12, "expiration_year": time.Now().Year() + 3, "cvc": "737"}}
}

// TestTokensEndToEnd walks the first must-show through real sockets: a limited
// application, a card token read masked and revealed, and 401, 403, 404, 409, 400, 413 as RFC 7807.
func TestTokensEndToEnd(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	writer, writerID := e.newApp("private", "token:create", "token:read")
	revealer, _ := e.newApp("private", "token:reveal")

	created := e.do("POST", "/tokens", writer, cardBody(pan)).expect(t, 201).json(t)
	id := created["id"].(string)
	if len(id) != 36 || id[14] != '4' {
		t.Fatalf("id %q is not a UUIDv4", id)
	}
	if strings.Contains(fmt.Sprint(created), pan) || created["data"].(map[string]any)["cvc"] != nil {
		t.Fatalf("create answer shows plaintext: %v", created)
	}
	if created["containers"].([]any)[0] != "/pci/high/" || created["created_by"] != writerID {
		t.Fatalf("defaults: %v", created)
	}
	card := created["card"].(map[string]any)
	if card["bin"] != "411111" || card["last4"] != "1111" || card["brand"] != "visa" {
		t.Fatalf("card summary: %v", card)
	}

	masked := e.do("GET", "/tokens/"+id, writer, nil).expect(t, 200).json(t)
	if d := masked["data"].(map[string]any); d["number"] != "XXXXXXXXXXXX1111" || d["cvc"] != nil {
		t.Fatalf("masked data: %v", d)
	}
	revealed := e.do("GET", "/tokens/"+id, revealer, nil).expect(t, 200).json(t)
	if d := revealed["data"].(map[string]any); d["number"] != pan || d["cvc"] != "737" {
		t.Fatalf("revealed data: %v", d)
	}

	// 401: no key, unknown key.
	e.do("GET", "/tokens/"+id, "", nil).expectProblem(t, 401, false)
	e.do("GET", "/tokens/"+id, "key_unknown", nil).expectProblem(t, 401, false)
	// 403: missing permission.
	e.do("DELETE", "/tokens/"+id, writer, nil).expectProblem(t, 403, false)
	e.do("POST", "/tokens", revealer, cardBody(pan)).expectProblem(t, 403, false)
	// 404: unknown token, unknown route.
	e.do("GET", "/tokens/does-not-exist", writer, nil).expectProblem(t, 404, false)
	e.do("GET", "/nowhere", writer, nil).expectProblem(t, 404, false)
	// 409: custom id that exists.
	body := cardBody(pan)
	body["id"] = "my-custom-id"
	e.do("POST", "/tokens", writer, body).expect(t, 201)
	e.do("POST", "/tokens", writer, body).expectProblem(t, 409, false)
	// 400: invalid card, naming the field, without the value.
	bad := e.do("POST", "/tokens", writer, cardBody("4111111111111112")).expectProblem(t, 400, false)
	if errs := bad["errors"].(map[string]any); errs["data.number"] == nil {
		t.Fatalf("400 does not name the field: %v", bad)
	}
	if strings.Contains(fmt.Sprint(bad), "4111111111111112") {
		t.Fatal("error body contains the PAN")
	}
	e.do("POST", "/tokens", writer, `{"type":"card","data":`).expectProblem(t, 400, false)
	e.do("POST", "/tokens", writer, `{"type":"card","data":{}} trailing`).expectProblem(t, 400, false)
	e.do("POST", "/tokens", writer, `{"type":42}`).expectProblem(t, 400, false)
	// 413: over the 4 MiB API limit.
	huge := `{"type":"token","data":"` + strings.Repeat("a", 5<<20) + `"}`
	e.do("POST", "/tokens", writer, huge).expectProblem(t, 413, false)
	// 415: not JSON.
	e.do("POST", "/tokens", writer, "x", "Content-Type", "text/plain").expectProblem(t, 415, false)

	// The audit log saw create, read and reveal, and holds no plaintext.
	logs := e.do("GET", "/logs?entity_id="+id, e.adminKey, nil).expect(t, 200).json(t)
	ops := []string{}
	for _, ev := range logs["data"].([]any) {
		m := ev.(map[string]any)
		ops = append(ops, m["operation"].(string))
		if m["actor"] == "" || m["created_at"] == nil || m["entity_type"] != "token" {
			t.Fatalf("event fields: %v", m)
		}
	}
	if strings.Join(ops, ",") != "reveal,read,create" {
		t.Fatalf("audit operations %v", ops)
	}
	assertNoSecrets(t, e.logText(), pan, writer, revealer, e.adminKey)
}

// assertNoSecrets fails if text contains any of secrets.
func assertNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	if text == "" {
		t.Fatal("no log output to check")
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("log output contains a secret (%d bytes)", len(s))
		}
	}
}

func TestTokenTypesOverHTTP(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	key, _ := e.newApp("private", "token:create", "token:reveal")
	tests := []struct {
		name, typ string
		data      any
		container string
		status    int
	}{
		{"token", "token", map[string]any{"any": []any{1, "json"}}, "/general/high/", 201},
		{"card_number", "card_number", "5555555555554444", "/pci/high/", 201},
		{"bank", "bank", map[string]any{"routing_number": "021000021", "account_number": "12345678"}, "/bank/high/", 201},
		{"ssn", "social_security_number", "123-45-6789", "/pii/high/", 201},
		{"routing", "us_bank_routing_number", "021000021", "/bank/low/", 201},
		{"account", "us_bank_account_number", "12345678", "/bank/high/", 201},
		{"bad ssn", "social_security_number", "000-12-3456", "", 400},
		{"unknown type", "passport", "x", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/tokens", key, map[string]any{"type": tt.typ, "data": tt.data})
			if r.status != tt.status {
				t.Fatalf("status %d want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status != 201 {
				return
			}
			m := r.json(t)
			if m["containers"].([]any)[0] != tt.container {
				t.Fatalf("container %v", m["containers"])
			}
			got := e.do("GET", "/tokens/"+m["id"].(string), key, nil).expect(t, 200).json(t)
			if fmt.Sprint(got["data"]) != fmt.Sprint(tt.data) {
				t.Fatalf("revealed %v want %v", got["data"], tt.data)
			}
		})
	}
}

func TestTokenPatchDeleteExpiryDedupe(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k := e.adminKey
	a := e.do("POST", "/tokens", k, map[string]any{"type": "token", "data": map[string]any{"a": 1, "b": 2}, "deduplicate_token": true}).expect(t, 201).json(t)
	if a["_extras"].(map[string]any)["deduplicated"] != false {
		t.Fatalf("first create deduplicated: %v", a)
	}
	b := e.do("POST", "/tokens", k, map[string]any{"type": "token", "data": map[string]any{"b": 2, "a": 1}, "deduplicate_token": true}).expect(t, 201).json(t)
	if b["id"] != a["id"] || b["_extras"].(map[string]any)["deduplicated"] != true {
		t.Fatalf("dedupe: %v", b)
	}
	if a["fingerprint"] == "" || strings.Contains(fmt.Sprint(a["fingerprint"]), `"a"`) {
		t.Fatalf("fingerprint %v", a["fingerprint"])
	}
	id := a["id"].(string)
	p := e.do("PATCH", "/tokens/"+id, k, map[string]any{"data": map[string]any{"b": nil, "c": 3}, "metadata": map[string]any{"m": "1"}},
		"Content-Type", "application/merge-patch+json").expect(t, 200).json(t)
	if p["metadata"].(map[string]any)["m"] != "1" || p["modified_at"] == nil {
		t.Fatalf("patch answer %v", p)
	}
	got := e.do("GET", "/tokens/"+id, k, nil).expect(t, 200).json(t)
	if fmt.Sprint(got["data"]) != "map[a:1 c:3]" || got["fingerprint"] == a["fingerprint"] {
		t.Fatalf("after merge patch: %v", got)
	}
	e.do("PATCH", "/tokens/"+id, k, map[string]any{"type": "card"}).expectProblem(t, 400, false)
	e.do("DELETE", "/tokens/"+id, k, nil).expect(t, 204)
	e.do("GET", "/tokens/"+id, k, nil).expectProblem(t, 404, false)
	e.do("DELETE", "/tokens/"+id, k, nil).expectProblem(t, 404, false)

	// Expired tokens behave as deleted. A read answered before the expiry finds the token; a
	// loaded machine may answer the first read later than that, when 404 is as right.
	expiry := time.Now().Add(1100 * time.Millisecond)
	exp := e.do("POST", "/tokens", k, map[string]any{"data": "soon gone", "expires_at": expiry.Format(time.RFC3339Nano)}).expect(t, 201).json(t)
	if r := e.do("GET", "/tokens/"+exp["id"].(string), k, nil); time.Now().Before(expiry) {
		r.expect(t, 200)
	} else {
		t.Logf("the first read was answered after the expiry: %d", r.status)
	}
	time.Sleep(time.Until(expiry) + 100*time.Millisecond)
	e.do("GET", "/tokens/"+exp["id"].(string), k, nil).expectProblem(t, 404, false)
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "expires_at": "2001-01-01T00:00:00Z"}).expectProblem(t, 400, false)
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "expires_at": "tomorrow"}).expectProblem(t, 400, false)
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "containers": []string{"bad"}}).expectProblem(t, 400, false)
	e.do("POST", "/tokens", k, map[string]any{"id": "has/slash", "data": "x"}).expectProblem(t, 400, false)
}

func TestApplicationsAPI(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k := e.adminKey
	e.do("POST", "/applications", k, map[string]any{"name": "x", "type": "private", "permissions": []string{"token:fly"}}).expectProblem(t, 400, false)
	e.do("POST", "/applications", k, map[string]any{"name": "x", "type": "public", "permissions": []string{"token:reveal"}}).expectProblem(t, 400, false)
	e.do("POST", "/applications", k, map[string]any{"name": "x", "type": "root"}).expectProblem(t, 400, false)
	created := e.do("POST", "/applications", k, map[string]any{"name": "reader", "type": "private", "permissions": []string{"token:read"}}).expect(t, 201).json(t)
	appKey, id := created["key"].(string), created["id"].(string)
	for _, f := range []string{"id", "name", "type", "key", "permissions", "created_at"} {
		if created[f] == nil {
			t.Fatalf("create answer lacks %q: %v", f, created)
		}
	}
	got := e.do("GET", "/applications/"+id, k, nil).expect(t, 200).json(t)
	if got["key"] != nil {
		t.Fatal("key shown after create")
	}
	list := e.do("GET", "/applications", k, nil).expect(t, 200).json(t)
	if len(list["data"].([]any)) != 1 || strings.Contains(string(e.do("GET", "/applications", k, nil).body), appKey) {
		t.Fatalf("list: %v", list)
	}
	// A key holder without application:* cannot manage applications.
	e.do("GET", "/applications", appKey, nil).expectProblem(t, 403, false)
	upd := e.do("PUT", "/applications/"+id, k, map[string]any{"name": "reader2", "permissions": []string{"token:read", "token:create"}}).expect(t, 200).json(t)
	if upd["name"] != "reader2" || len(upd["permissions"].([]any)) != 2 {
		t.Fatalf("update: %v", upd)
	}
	e.do("POST", "/tokens", appKey, map[string]any{"data": "x"}).expect(t, 201)
	// A deleted application's key stops working at once.
	e.do("DELETE", "/applications/"+id, k, nil).expect(t, 204)
	e.do("POST", "/tokens", appKey, map[string]any{"data": "x"}).expectProblem(t, 401, false)
	e.do("GET", "/applications/"+id, k, nil).expectProblem(t, 404, false)
	evs := e.do("GET", "/logs?entity_type=application&size=10", k, nil).expect(t, 200).json(t)
	if n := len(evs["data"].([]any)); n != 3 {
		t.Fatalf("%d application events", n)
	}
}

func TestLogsPagination(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	for i := 0; i < 7; i++ {
		e.do("POST", "/tokens", e.adminKey, map[string]any{"data": i}).expect(t, 201)
	}
	seen := 0
	next := ""
	for {
		path := "/logs?operation=create&size=3"
		if next != "" {
			path += "&start=" + next
		}
		m := e.do("GET", path, e.adminKey, nil).expect(t, 200).json(t)
		seen += len(m["data"].([]any))
		n, _ := m["pagination"].(map[string]any)["next"].(string)
		if n == "" {
			break
		}
		next = n
	}
	if seen != 7 {
		t.Fatalf("paged %d events", seen)
	}
	e.do("GET", "/logs?size=0", e.adminKey, nil).expectProblem(t, 400, false)
	e.do("GET", "/logs?start_date=yesterday", e.adminKey, nil).expectProblem(t, 400, false)
	e.do("GET", "/logs?start=nonsense", e.adminKey, nil).expectProblem(t, 400, false)
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		res, err := httpGet(e.admin + p)
		if err != nil || res != 200 {
			t.Fatalf("%s: %v %d", p, err, res)
		}
	}
}

func TestCustomMaskAndFingerprintExpression(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	k := e.adminKey
	reader, _ := e.newApp("private", "token:read", "token:create")
	id := e.token(k, map[string]any{"type": "card_number", "data": pan, "mask": "{{ data | reveal_last: 6 }}"})
	if d := e.do("GET", "/tokens/"+id, reader, nil).expect(t, 200).json(t)["data"]; d != "XXXXXXXXXX111111" {
		t.Fatalf("custom string mask: %v", d)
	}
	obj := e.token(k, map[string]any{"data": map[string]any{"name": "Ada Lovelace", "ssn": "123-45-6789"},
		"mask": map[string]any{"name": "{{ data.name }}", "ssn": "{{ data.ssn | last4 }}"}})
	d := e.do("GET", "/tokens/"+obj, reader, nil).expect(t, 200).json(t)["data"].(map[string]any)
	if d["name"] != "Ada Lovelace" || d["ssn"] != "6789" {
		t.Fatalf("object mask: %v", d)
	}
	// A mask may not reach another token, and must parse.
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "mask": "{{ " + id + " }}"}).expectProblem(t, 400, false)
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "mask": "{{ data | nosuchfilter }}"}).expectProblem(t, 400, false)
	// Fingerprint expression: case-insensitive dedupe.
	a := e.do("POST", "/tokens", k, map[string]any{"data": "Alice@Example.com", "fingerprint_expression": "{{ data | downcase }}", "deduplicate_token": true}).expect(t, 201).json(t)
	b := e.do("POST", "/tokens", k, map[string]any{"data": "alice@example.COM", "fingerprint_expression": "{{ data | downcase }}", "deduplicate_token": true}).expect(t, 201).json(t)
	if a["id"] != b["id"] || a["fingerprint_expression"] != "{{ data | downcase }}" {
		t.Fatalf("fingerprint expression dedupe: %v %v", a, b)
	}
	e.do("POST", "/tokens", k, map[string]any{"data": "x", "fingerprint_expression": "{{ config: X }}"}).expectProblem(t, 400, false)
}
