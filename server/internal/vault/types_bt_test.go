package vault

import (
	"encoding/json"
	"slices"
	"testing"
)

// employer_id_number is one of Basis Theory's types (SPEC §4): ##-####### or 9 digits, kept in
// /pii/high/, the last four shown by the default mask, fingerprinted without its dash.
func TestEmployerIDNumber(t *testing.T) {
	if !Known(TypeEIN) {
		t.Fatal("employer_id_number is not a known type")
	}
	for _, tc := range []struct {
		data  string
		valid bool
	}{
		{`"12-3456789"`, true}, {`"123456789"`, true},
		{`"1-23456789"`, false}, {`"12-345678"`, false}, {`"12-34567890"`, false},
		{`"12-34a6789"`, false}, {`123456789`, false}, {`""`, false},
	} {
		_, _, ferr := validate(TypeEIN, json.RawMessage(tc.data), now)
		if (ferr == nil) != tc.valid {
			t.Errorf("validate(%s) = %v, want valid %v", tc.data, ferr, tc.valid)
		}
		if ferr != nil && ferr.Field != "data" {
			t.Errorf("validate(%s) names %q, want data", tc.data, ferr.Field)
		}
	}
	if got := defaultContainers(TypeEIN); !slices.Equal(got, []string{"/pii/high/"}) {
		t.Errorf("default containers = %v", got)
	}
	if got := string(defaultMask(TypeEIN, json.RawMessage(`"12-3456789"`))); got != `"XX-XXX6789"` {
		t.Errorf("default mask = %s", got)
	}
	if a, b := fingerprintInput(TypeEIN, json.RawMessage(`"12-3456789"`)), fingerprintInput(TypeEIN, json.RawMessage(`"123456789"`)); string(a) != string(b) {
		t.Errorf("fingerprint values differ with and without the dash: %q %q", a, b)
	}
}

// A bank token answers Basis Theory's bank summary: the routing number and the account's last 4.
func TestBankSummary(t *testing.T) {
	got := bankSummary(TypeBank, json.RawMessage(`{"routing_number":"021000021","account_number":"1234567890"}`))
	if got == nil || *got != (Bank{RoutingNumber: "021000021", AccountNumberLast4: "7890"}) {
		t.Fatalf("bank summary = %+v", got)
	}
	if got := bankSummary(TypeToken, json.RawMessage(`{"routing_number":"021000021","account_number":"1234567890"}`)); got != nil {
		t.Fatalf("a token-type token has a bank summary: %+v", got)
	}
}
