package server

import (
	"encoding/base64"
	"testing"
)

// TestOpenAPIBTTransformFormatsMatchHandlers: proxies written in Basis Theory's formats (code,
// tokenize with token.data and identifier, append_text, append_header with location,
// application) are answered as openapi.json describes them.
func TestOpenAPIBTTransformFormatsMatchHandlers(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := startEdge(t)
	c := &responseChecker{t: t, doc: doc}
	adm := e.adminKey
	app := e.do("POST", "/applications", adm, map[string]any{"name": "acts", "type": "private", "permissions": []string{"token:use"}}).expect(t, 201).json(t)
	body := map[string]any{
		"name": "bt", "destination_url": "https://api.acme.example/v1", "application": map[string]any{"id": app["id"]},
		"request_transforms": []any{
			map[string]any{"code": base64.StdEncoding.EncodeToString(testdataWasm(t, "tiny"))},
			map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Merchant", "value": "m"}},
		},
		"response_transforms": []any{
			map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "card", "token": map[string]any{"type": "card_number", "data": "{{ res | json: '$.card' }}",
				"search_indexes": []string{"{{ data | last4 }}"}, "deduplicate_token": true}}},
			map[string]any{"type": "append_json", "options": map[string]any{"value": "{{ transform_identifier: 'card' | json: '$.id' }}", "location": "$.card_token"}},
			map[string]any{"type": "append_text", "options": map[string]any{"value": "\n"}},
		},
	}
	prx := c.check("POST", "/proxies", e.do("POST", "/proxies", adm, body).expect(t, 201))
	shown := prx["request_transforms"].([]any)[0].(map[string]any)
	if shown["type"] != "code" || shown["module_id"] != nil {
		t.Fatalf("code transform shown as %v", shown)
	}
	c.check("GET", "/proxies/{id}", e.do("GET", "/proxies/"+prx["id"].(string), adm, nil).expect(t, 200))
	c.check("PATCH", "/proxies/{id}", e.do("PATCH", "/proxies/"+prx["id"].(string), adm, map[string]any{"application": nil}, "Content-Type", "application/merge-patch+json").expect(t, 200))
	code := body["request_transforms"].([]any)[0]
	c.check("POST", "/proxies", e.do("POST", "/proxies", adm, map[string]any{"name": "dup", "destination_url": "https://api.acme.example/v1",
		"request_transforms": []any{code, code}}).expect(t, 400))
}
