package server

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// Basis Theory's transform formats on pre-configured proxies (SPEC §5 "Transform objects"), end
// to end through a real TLS destination on 127.0.0.1.

// btProxy creates a proxy to dest from body (name and destination_url filled in) and returns it.
func (e *testEdge) btProxy(t *testing.T, dest *destination, body map[string]any) map[string]any {
	t.Helper()
	if body["name"] == nil {
		body["name"] = "bt"
	}
	if body["destination_url"] == nil {
		body["destination_url"] = dest.url
	}
	return e.do("POST", "/proxies", e.adminKey, body).expect(t, 201).json(t)
}

// TestBTCodeTransformFormats: {"type":"code","code":<base64 wasm>}, the same without type, code
// "sha256:<hex>" of an uploaded module, and Sluice's {"type":"wasm","module_id"} all run the
// module (tiny.wasm adds "x-tiny: 1"); a code transform shows as type code with its module in
// code, which PUT accepts back; the module cannot be deleted while a code transform uses it.
func TestBTCodeTransformFormats(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	tiny := testdataWasm(t, "tiny")
	uploaded := e.upload(k, tiny)
	b64 := base64.StdEncoding.EncodeToString(tiny)
	for _, c := range []struct {
		name      string
		transform map[string]any
	}{
		{"code base64", map[string]any{"type": "code", "code": b64}},
		{"code with type absent", map[string]any{"code": b64}},
		{"code sha256 of an upload", map[string]any{"type": "code", "code": uploaded}},
		{"sluice wasm module_id", map[string]any{"type": "wasm", "module_id": uploaded}},
	} {
		t.Run(c.name, func(t *testing.T) {
			px := e.btProxy(t, dest, map[string]any{"request_transforms": []any{c.transform}})
			e.do("POST", "/proxy", k, `{}`, "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
			if got := dest.last(t).header.Get("X-Tiny"); got != "1" {
				t.Fatalf("the module did not run: x-tiny %q", got)
			}
			if c.transform["type"] == "wasm" {
				return
			}
			id := px["id"].(string)
			shown := e.do("GET", "/proxies/"+id, k, nil).expect(t, 200).json(t)["request_transforms"].([]any)[0].(map[string]any)
			if shown["type"] != "code" || shown["code"] != uploaded {
				t.Fatalf("shown as %v", shown)
			}
			e.do("PUT", "/proxies/"+id, k, map[string]any{"name": "again", "destination_url": dest.url, "request_transforms": []any{shown}}).expect(t, 200)
			e.do("POST", "/proxy", k, `{}`, "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
			if got := dest.last(t).header.Get("X-Tiny"); got != "1" {
				t.Fatalf("after PUT of what GET showed: x-tiny %q", got)
			}
		})
	}
	e.do("DELETE", "/transforms/"+uploaded, k, nil).expectProblem(t, 409, false)
}

// TestBTTokenizeIdentifierResponseThroughTLS: a response tokenize transform with identifier and
// token.data "{{ res | json: '$.card' }}" vaults the destination's card with the template's
// type, containers and metadata, and a later append_json reads the new token's id through
// transform_identifier.
func TestBTTokenizeIdentifierResponseThroughTLS(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	px := e.btProxy(t, dest, map[string]any{"response_transforms": []any{
		map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "card", "token": map[string]any{
			"type": "card_number", "data": "{{ res | json: '$.card' }}", "containers": []string{"/pci/low/"},
			"metadata": map[string]string{"source": "issuer"}, "expires_at": "2099-01-01T00:00:00Z",
			"search_indexes": []string{"{{ data | last4 }}"}, "deduplicate_token": false}}},
		map[string]any{"type": "append_json", "options": map[string]any{"value": "{{ transform_identifier: 'card' | json: '$.id' }}", "location": "$.card_token"}},
	}})
	answer := `{"card":"5555555555554444","ok":true}`
	r := e.do("POST", "/proxy/json", k, `{}`, "BT-PROXY-KEY", px["key"].(string), "X-Answer", answer).expect(t, 200).json(t)
	id, _ := r["card_token"].(string)
	if id == "" || r["card"] != "5555555555554444" || r["ok"] != true {
		t.Fatalf("answer %v", r)
	}
	tok := e.do("GET", "/tokens/"+id, k, nil).expect(t, 200).json(t)
	if tok["data"] != "5555555555554444" || tok["type"] != "card_number" || tok["metadata"].(map[string]any)["source"] != "issuer" ||
		tok["containers"].([]any)[0] != "/pci/low/" || tok["expires_at"] == nil {
		t.Fatalf("token %v", tok)
	}
	if idx, _ := tok["search_indexes"].([]any); len(idx) != 1 || idx[0] != "{{ data | last4 }}" {
		t.Fatalf("search_indexes %v", tok["search_indexes"])
	}
	// The destination's value is not a card number: a bad gateway, and nothing vaulted.
	e.do("POST", "/proxy/json", k, `{}`, "BT-PROXY-KEY", px["key"].(string), "X-Answer", `{"card":"not a card"}`).expectProblem(t, 502, true)
	// Nothing at the path: no token, so transform_identifier has nothing to read; the
	// destination's answer is at fault.
	e.do("POST", "/proxy/json", k, `{}`, "BT-PROXY-KEY", px["key"].(string), "X-Answer", `{"other":1}`).expectProblem(t, 502, true)
}

// TestBTTokenizeIdentifierRequestThroughTLS: a request tokenize transform reads the body
// ({{ request | … }}) or the BT-ENCRYPTED payload ({{ encrypted | … }}); the destination gets
// the new token's id through append_header and transform_identifier, and a response transform
// can read a token made in the request phase.
func TestBTTokenizeIdentifierRequestThroughTLS(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	tokenizeAndSend := func(t *testing.T, data string) map[string]any {
		return e.btProxy(t, dest, map[string]any{
			"request_transforms": []any{
				map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "c", "token": map[string]any{"type": "card_number", "data": data}}},
				map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Card-Token", "value": "{{ transform_identifier: 'c' | json: '$.id' }}"}},
			},
			"response_transforms": []any{
				map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Card-Type", "value": "{{ transform_identifier: 'c' | json: '$.type' }}"}},
			},
		})
	}
	check := func(t *testing.T, r *resp, want string) {
		t.Helper()
		id := dest.last(t).header.Get("X-Card-Token")
		if id == "" {
			t.Fatal("no X-Card-Token reached the destination")
		}
		if got := e.do("GET", "/tokens/"+id, k, nil).expect(t, 200).json(t)["data"]; got != want {
			t.Fatalf("token data %v", got)
		}
		if r.header.Get("X-Card-Type") != "card_number" {
			t.Fatalf("response transform read %q", r.header.Get("X-Card-Type"))
		}
	}
	t.Run("request", func(t *testing.T) {
		px := tokenizeAndSend(t, "{{ request | json: '$.card' }}")
		r := e.do("POST", "/proxy", k, `{"card":"4242424242424242"}`, "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
		check(t, r, "4242424242424242")
	})
	t.Run("encrypted", func(t *testing.T) {
		key := e.do("POST", "/keys", k, map[string]any{}).expect(t, 201).json(t)
		jwe := encryptX25519(t, key["public_key_pem"].(string), key["key_id"].(string), []byte(`{"number":"4000056655665556"}`))
		one, _ := json.Marshal(map[string]string{"type": "card", "encrypted": jwe})
		px := tokenizeAndSend(t, "{{ encrypted | json: '$.data.number' }}")
		r := e.do("POST", "/proxy", k, `{}`, "BT-PROXY-KEY", px["key"].(string), "BT-ENCRYPTED", base64.StdEncoding.EncodeToString(one)).expect(t, 200)
		check(t, r, "4000056655665556")
	})
}

// TestBTAppendTextAndHeaderLocation: append_text adds text to the body, append_header takes
// its name from options.location (what the SDK sends), and the singular request_transform /
// response_transform are the first of their lists.
func TestBTAppendTextAndHeaderLocation(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	px := e.btProxy(t, dest, map[string]any{
		"configuration":     map[string]string{"MERCHANT": "m-42"},
		"request_transform": map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Merchant", "value": "{{ config: MERCHANT }}"}},
		"request_transforms": []any{
			map[string]any{"type": "append_text", "options": map[string]any{"value": " merchant={{ config: MERCHANT }}"}},
		},
		"response_transform": map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Seen", "value": "{{ res | json: '$.amount' }}"}},
		"response_transforms": []any{
			map[string]any{"type": "append_text", "options": map[string]any{"value": "|done"}},
		},
	})
	if n := len(px["request_transforms"].([]any)); n != 2 {
		t.Fatalf("request_transform joined as %d transforms", n)
	}
	r := e.do("POST", "/proxy/json", k, `{"amount":7}`, "BT-PROXY-KEY", px["key"].(string), "X-Answer", `{"amount":8}`).expect(t, 200)
	got := dest.last(t)
	if string(got.body) != `{"amount":7} merchant=m-42` || got.header.Get("X-Merchant") != "m-42" {
		t.Fatalf("destination got %q, X-Merchant %q", got.body, got.header.Get("X-Merchant"))
	}
	if string(r.body) != `{"amount":8}|done` || r.header.Get("X-Seen") != "8" {
		t.Fatalf("answer %q, X-Seen %q", r.body, r.header.Get("X-Seen"))
	}
}

// TestRejectBTTransformListMistakes: what a proxy's transforms may not do together is refused at
// create, naming the list, and nothing is created.
func TestRejectBTTransformListMistakes(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	b64 := base64.StdEncoding.EncodeToString(testdataWasm(t, "tiny"))
	tokenize := func(id, data string) map[string]any {
		return map[string]any{"type": "tokenize", "options": map[string]any{"identifier": id, "token": map[string]any{"type": "token", "data": data}}}
	}
	appendJSON := func(v string) map[string]any {
		return map[string]any{"type": "append_json", "options": map[string]any{"value": v, "location": "$.x"}}
	}
	for _, c := range []struct {
		name      string
		req, resp []any
	}{
		{"two code transforms in one list", []any{map[string]any{"code": b64}, map[string]any{"type": "code", "code": b64}}, nil},
		{"identifier used twice", []any{tokenize("a", "{{ request }}")}, []any{tokenize("a", "{{ res }}")}},
		{"identifier over 100 characters", []any{tokenize(strings.Repeat("i", 101), "{{ request }}")}, nil},
		{"identifier with a quote", []any{tokenize("a'b", "{{ request }}")}, nil},
		{"transform_identifier of no transform", nil, []any{appendJSON("{{ transform_identifier: 'nope' | json: '$.id' }}")}},
		{"transform_identifier of a later transform", []any{appendJSON("{{ transform_identifier: 'later' }}"), tokenize("later", "{{ request }}")}, nil},
		{"res in a request transform", []any{tokenize("a", "{{ res | json: '$.card' }}")}, nil},
		{"proxy in a response transform", nil, []any{appendJSON("{{ proxy | json: '$.request.body' }}")}},
		{"request in a response transform", nil, []any{tokenize("a", "{{ request }}")}},
		{"tokenize with neither data nor location", []any{map[string]any{"type": "tokenize", "options": map[string]any{"token": map[string]any{"type": "token"}}}}, nil},
		{"append_text without value", []any{map[string]any{"type": "append_text", "options": map[string]any{}}}, nil},
		{"append_header without name or location", []any{map[string]any{"type": "append_header", "options": map[string]any{"value": "v"}}}, nil},
		{"code that is not base64", []any{map[string]any{"type": "code", "code": "%%%"}}, nil},
		{"code naming no upload", []any{map[string]any{"type": "code", "code": "sha256:" + strings.Repeat("0", 64)}}, nil},
		{"malformed expression in token.data", []any{tokenize("a", "{{ request | nosuchfilter }}")}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.do("GET", "/proxies", e.adminKey, nil).expect(t, 200).json(t)["data"].([]any))
			body := map[string]any{"name": "bad", "destination_url": dest.url}
			if c.req != nil {
				body["request_transforms"] = c.req
			}
			if c.resp != nil {
				body["response_transforms"] = c.resp
			}
			e.do("POST", "/proxies", e.adminKey, body).expectProblem(t, 400, false)
			if after := len(e.do("GET", "/proxies", e.adminKey, nil).expect(t, 200).json(t)["data"].([]any)); after != before {
				t.Fatal("a refused proxy was created")
			}
		})
	}
}

// TestBTTransformsOverMutualTLS: a proxy in Basis Theory's formats with a client_certificate
// reaches a destination that requires one: the request tokenize transform's token id arrives in
// a header, presented with the configured client certificate, and the response tokenize
// transform vaults the answer's card.
func TestBTTransformsOverMutualTLS(t *testing.T) {
	t.Parallel()
	dest, clientCA := startMutualTLSDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	certPEM, keyPEM, _ := issue(t, clientCA, "bt-client", false)
	px := e.btProxy(t, dest, map[string]any{
		"client_certificate": string(certPEM) + string(keyPEM),
		"request_transforms": []any{
			map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "in", "token": map[string]any{"type": "card_number", "data": "{{ request | json: '$.card' }}"}}},
			map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Card-Token", "value": "{{ transform_identifier: 'in' | json: '$.id' }}"}},
		},
		"response_transforms": []any{
			map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "out", "token": map[string]any{"type": "card_number", "data": "{{ res | json: '$.card' }}"}}},
			map[string]any{"type": "append_json", "options": map[string]any{"value": "{{ transform_identifier: 'out' | json: '$.id' }}", "location": "$.card_token"}},
		},
	})
	r := e.do("POST", "/proxy/json", k, `{"card":"4242424242424242"}`, "BT-PROXY-KEY", px["key"].(string),
		"X-Answer", `{"card":"5555555555554444"}`).expect(t, 200).json(t)
	got := dest.last(t)
	if cn := got.header.Get("X-Test-Client-CN"); cn != "bt-client" {
		t.Fatalf("destination saw client %q", cn)
	}
	for id, want := range map[string]string{got.header.Get("X-Card-Token"): "4242424242424242", r["card_token"].(string): "5555555555554444"} {
		if data := e.do("GET", "/tokens/"+id, k, nil).expect(t, 200).json(t)["data"]; data != want {
			t.Fatalf("token %q holds %v, want %s", id, data, want)
		}
	}
	// Without the certificate the destination refuses the handshake: nothing reaches it.
	plain := e.btProxy(t, dest, map[string]any{})
	n := len(dest.requests())
	if r := e.do("POST", "/proxy/json", k, `{}`, "BT-PROXY-KEY", plain["key"].(string)); r.status < 500 {
		t.Fatalf("without a client certificate: %d %s", r.status, r.body)
	}
	if len(dest.requests()) != n {
		t.Fatal("a request without a client certificate reached the destination")
	}
}
