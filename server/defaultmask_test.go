package server

import (
	"reflect"
	"testing"
)

// TestDefaultMasksAndContainersAreBasisTheorys: each type lands in Basis Theory's default
// container, a masked read (token:read without token:reveal) shows what BT's default mask shows
// — a token-type token has none, so no data at all — and every token answers its tenant_id.
func TestDefaultMasksAndContainersAreBasisTheorys(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	reader, _ := e.newApp("private", "token:read")
	cases := []struct {
		typ       string
		data      any
		container string
		masked    any // nil: no data in the answer
	}{
		{"token", "no default mask", "/general/high/", nil},
		{"token", map[string]any{"nested": "object"}, "/general/high/", nil},
		{"card_number", "4242424242424242", "/pci/high/", "XXXXXXXXXXXX4242"},
		{"card", map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2099, "cvc": "123"},
			"/pci/high/", map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": 12.0, "expiration_year": 2099.0}},
		{"bank", map[string]any{"routing_number": "021000021", "account_number": "1234567890"}, "/bank/high/",
			map[string]any{"routing_number": "021000021", "account_number": "XXXXXX7890"}},
		{"us_bank_account_number", "1234567890", "/bank/high/", "XXXXXX7890"},
		{"us_bank_routing_number", "021000021", "/bank/low/", "021000021"},
		{"social_security_number", "123-45-6789", "/pii/high/", "XXX-XX-6789"},
		{"employer_id_number", "12-3456789", "/pii/high/", "XX-XXX6789"},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			made := e.do("POST", "/tokens", e.adminKey, map[string]any{"type": tc.typ, "data": tc.data}).expect(t, 201).json(t)
			if got := made["containers"]; !reflect.DeepEqual(got, []any{tc.container}) {
				t.Fatalf("containers %v, want [%s]", got, tc.container)
			}
			got := e.do("GET", "/tokens/"+made["id"].(string), reader, nil).expect(t, 200).json(t)
			data, has := got["data"]
			if tc.masked == nil && has {
				t.Fatalf("a masked read of a %s token has data %v", tc.typ, data)
			}
			if tc.masked != nil && !reflect.DeepEqual(data, tc.masked) {
				t.Fatalf("masked data %v, want %v", data, tc.masked)
			}
			for _, m := range []map[string]any{made, got} {
				if id, _ := m["tenant_id"].(string); id == "" {
					t.Fatalf("no tenant_id: %v", m)
				}
			}
		})
	}
}
