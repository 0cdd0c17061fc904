package vault

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, typ, data string
		field           string // "" = valid
	}{
		{"token string", TypeToken, `"anything"`, ""},
		{"token object", TypeToken, `{"a":[1,2,{"b":null}]}`, ""},
		{"token null", TypeToken, `null`, "data"},
		{"token empty", TypeToken, ``, "data"},
		{"token invalid json", TypeToken, `{"a":`, "data"},
		{"card ok", TypeCard, `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`, ""},
		{"card no expiry", TypeCard, `{"number":"4242424242424242"}`, ""},
		{"card this month", TypeCard, `{"number":"4242424242424242","expiration_month":11,"expiration_year":2026}`, ""},
		{"card last month", TypeCard, `{"number":"4242424242424242","expiration_month":10,"expiration_year":2026}`, "data.expiration_year"},
		{"card past year", TypeCard, `{"number":"4242424242424242","expiration_month":12,"expiration_year":2020}`, "data.expiration_year"},
		{"card luhn", TypeCard, `{"number":"4242424242424241"}`, "data.number"},
		{"card short", TypeCard, `{"number":"424242424242"}`, "data.number"},
		{"card long", TypeCard, `{"number":"42424242424242424242"}`, "data.number"},
		{"card letters", TypeCard, `{"number":"4242x24242424242"}`, "data.number"},
		{"card number type", TypeCard, `{"number":4242424242424242}`, "data.number"},
		{"card missing number", TypeCard, `{"expiration_month":1}`, "data.number"},
		{"card month 0", TypeCard, `{"number":"4242424242424242","expiration_month":0,"expiration_year":2030}`, "data.expiration_month"},
		{"card month 13", TypeCard, `{"number":"4242424242424242","expiration_month":13,"expiration_year":2030}`, "data.expiration_month"},
		{"card month string", TypeCard, `{"number":"4242424242424242","expiration_month":"12","expiration_year":2030}`, "data.expiration_month"},
		{"card month without year", TypeCard, `{"number":"4242424242424242","expiration_month":12}`, "data.expiration_year"},
		{"card cvc short", TypeCard, `{"number":"4242424242424242","cvc":"12"}`, "data.cvc"},
		{"card cvc 4", TypeCard, `{"number":"378282246310005","cvc":"1234"}`, ""},
		{"card cvc letters", TypeCard, `{"number":"4242424242424242","cvc":"12a"}`, "data.cvc"},
		{"card unknown field", TypeCard, `{"number":"4242424242424242","pin":"1234"}`, "data.pin"},
		{"card not object", TypeCard, `"4242424242424242"`, "data"},
		{"card_number ok", TypeCardNumber, `"4242424242424242"`, ""},
		{"card_number bad", TypeCardNumber, `"1234"`, "data"},
		{"card_number object", TypeCardNumber, `{}`, "data"},
		{"bank ok", TypeBank, `{"routing_number":"021000021","account_number":"1234567890"}`, ""},
		{"bank bad routing", TypeBank, `{"routing_number":"021000022","account_number":"1234567890"}`, "data.routing_number"},
		{"bank missing account", TypeBank, `{"routing_number":"021000021"}`, "data.account_number"},
		{"bank account letters", TypeBank, `{"routing_number":"021000021","account_number":"12ab"}`, "data.account_number"},
		{"bank extra", TypeBank, `{"routing_number":"021000021","account_number":"1234","x":1}`, "data.x"},
		{"ssn dashed", TypeSSN, `"123-45-6789"`, ""},
		{"ssn plain", TypeSSN, `"123456789"`, ""},
		{"ssn 000", TypeSSN, `"000-45-6789"`, "data"},
		{"ssn 666", TypeSSN, `"666-45-6789"`, "data"},
		{"ssn 9xx", TypeSSN, `"900-45-6789"`, "data"},
		{"ssn group 00", TypeSSN, `"123-00-6789"`, "data"},
		{"ssn serial 0000", TypeSSN, `"123-45-0000"`, "data"},
		{"ssn short", TypeSSN, `"12345678"`, "data"},
		{"routing ok", TypeRouting, `"011000015"`, ""},
		{"routing checksum", TypeRouting, `"011000016"`, "data"},
		{"account ok", TypeBankAccount, `"000123456789"`, ""},
		{"account short", TypeBankAccount, `"123"`, "data"},
		{"account long", TypeBankAccount, `"123456789012345678"`, "data"},
		{"unknown type", "nope", `"x"`, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := validate(tt.typ, json.RawMessage(tt.data), now)
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.field != "" && (err == nil || err.Field != tt.field):
				t.Fatalf("want error on %q, got %v", tt.field, err)
			}
			if err != nil && len(tt.data) > 6 && strings.Contains(err.Error(), strings.Trim(tt.data, `"`)) {
				t.Fatalf("error quotes the value: %v", err)
			}
		})
	}
}

func TestCardCVCIsEphemeral(t *testing.T) {
	keep, eph, err := validate(TypeCard, json.RawMessage(`{"number":"4242424242424242","cvc":"123"}`), now)
	if err != nil || strings.Contains(string(keep), "cvc") || string(eph["cvc"]) != `"123"` {
		t.Fatalf("%v %s %v", err, keep, eph)
	}
}

func TestDefaultMask(t *testing.T) {
	tests := []struct{ name, typ, data, want string }{
		{"card", TypeCard, `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`,
			`{"expiration_month":12,"expiration_year":2030,"number":"XXXXXXXXXXXX4242"}`},
		{"card_number", TypeCardNumber, `"4242424242424242"`, `"XXXXXXXXXXXX4242"`},
		{"ssn", TypeSSN, `"123-45-6789"`, `"XXX-XX-6789"`},
		{"bank shows its routing number", TypeBank, `{"routing_number":"021000021","account_number":"1234567890"}`, `{"account_number":"XXXXXX7890","routing_number":"021000021"}`},
		{"routing number shown whole", TypeRouting, `"021000021"`, `"021000021"`},
		{"account number", TypeBankAccount, `"1234567890"`, `"XXXXXX7890"`},
		{"token has no default mask", TypeToken, `"a secret"`, ``},
		// The generic masking, as a type without a mask of its own gets it.
		{"short string", "", `"1234"`, `"XXXX"`},
		{"nested", "", `{"a":["secret-value",42],"b":true,"c":null}`, `{"a":["XXXXXX-Xalue","XX"],"b":true,"c":null}`},
		{"number", "", `123456789`, `"XXXXX6789"`},
		{"unicode", "", `"ünïcödé!"`, `"XXXcödé!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(defaultMask(tt.typ, json.RawMessage(tt.data))); got != tt.want {
				t.Fatalf("got %s want %s", got, tt.want)
			}
		})
	}
}

func TestSummaryAndBrand(t *testing.T) {
	c := summary(TypeCard, json.RawMessage(`{"number":"5555555555554444","expiration_month":3,"expiration_year":2030}`))
	if c == nil || c.Bin != "555555" || c.Last4 != "4444" || c.Brand != "mastercard" || c.ExpirationMonth != 3 {
		t.Fatalf("%+v", c)
	}
	for pan, brand := range map[string]string{
		"4242424242424242": "visa", "2223003122003222": "mastercard", "378282246310005": "american-express",
		"6011111111111117": "discover", "3566002020360505": "jcb", "30569309025904": "diners-club",
		"6200000000000005": "unionpay", "1234567890123452": "unknown",
	} {
		if got := cardBrand(pan); got != brand {
			t.Errorf("%s: %s, want %s", pan, got, brand)
		}
	}
	if summary(TypeToken, json.RawMessage(`"x"`)) != nil {
		t.Fatal("summary for a non-card type")
	}
}

func TestFingerprintInputIgnoresPresentation(t *testing.T) {
	a := fingerprintInput(TypeSSN, json.RawMessage(`"123-45-6789"`))
	b := fingerprintInput(TypeSSN, json.RawMessage(`"123456789"`))
	if string(a) != string(b) {
		t.Fatal("ssn presentation changes the fingerprint")
	}
	x := fingerprintInput(TypeToken, json.RawMessage(`{ "a" : 1 }`))
	y := fingerprintInput(TypeToken, json.RawMessage(`{"a":1}`))
	if string(x) != string(y) {
		t.Fatal("json whitespace changes the fingerprint")
	}
}

func TestValidContainerAndID(t *testing.T) {
	for c, ok := range map[string]bool{"/pci/high/": true, "/a/": true, "/": false, "pci/high/": false, "/pci/high": false, "/p ci/": false, "/../": false} {
		if ValidContainer(c) != ok {
			t.Errorf("container %q", c)
		}
	}
	for id, ok := range map[string]bool{"abc-123_X": true, "": false, "a.b": true, "a/b": false, strings.Repeat("a", 401): false} {
		if ValidID(id) != ok {
			t.Errorf("id %q", id)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{`{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`,
		`"123-45-6789"`, `{"routing_number":"021000021","account_number":"1"}`, `null`, `{`, `[]`, `1e999`,
		`{"number":"4242424242424242","expiration_month":-1e400}`, `"\u0000"`, `{"cvc":{"a":1}}`, `"12-3456789"`} {
		for _, typ := range []string{TypeToken, TypeCard, TypeCardNumber, TypeBank, TypeSSN, TypeEIN, TypeRouting, TypeBankAccount} {
			f.Add(typ, s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, data string) {
		keep, _, err := validate(typ, json.RawMessage(data), now)
		if err == nil {
			if !json.Valid(keep) {
				t.Fatal("accepted data is not JSON")
			}
			m := defaultMask(typ, keep)
			if !json.Valid(m) && (m != nil || typ != TypeToken) {
				t.Fatal("mask is not JSON")
			}
			summary(typ, keep)
			bankSummary(typ, keep)
			fingerprintInput(typ, keep)
		}
	})
}
