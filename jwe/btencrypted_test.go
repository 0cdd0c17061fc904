package jwe

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var btEncodings = []struct {
	name string
	enc  *base64.Encoding
}{
	{name: "standard padded", enc: base64.StdEncoding},
	{name: "standard unpadded", enc: base64.RawStdEncoding},
	{name: "url padded", enc: base64.URLEncoding},
	{name: "url unpadded", enc: base64.RawURLEncoding},
}

// btValue makes a BT-ENCRYPTED header value from v, marshaled to JSON.
func btValue(t *testing.T, enc *base64.Encoding, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(enc.EncodeToString(raw))
}

type btTok struct {
	Type      string `json:"type"`
	Encrypted string `json:"encrypted"`
}

func TestParseBTEncryptedSingle(t *testing.T) {
	k := testKeys(t)
	card := `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030}`
	tok := btTok{Type: "card", Encrypted: testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(card))}
	for _, e := range btEncodings {
		t.Run(e.name, func(t *testing.T) {
			v := btValue(t, e.enc, tok)
			out, err := ParseBTEncrypted(v, allKeysLookup(t).lookup)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Type string `json:"type"`
				Data struct {
					Number string `json:"number"`
				} `json:"data"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("result is not JSON: %v: %s", err, out)
			}
			if got.Type != "card" || got.Data.Number != "4242424242424242" {
				t.Fatalf("result = %s", out)
			}
			if cap(out) != len(out) {
				t.Fatalf("output buffer grew or was oversized: len %d cap %d", len(out), cap(out))
			}
			if want := `{"type":"card","data":` + card + `}`; string(out) != want {
				t.Fatalf("result = %s, want %s", out, want)
			}
		})
	}
}

func TestParseBTEncryptedAliases(t *testing.T) {
	k := testKeys(t)
	m := map[string]btTok{
		"tokenA": {Type: "card", Encrypted: testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`{"number":"4242424242424242"}`))},
		"tokenB": {Type: "bank", Encrypted: joseEncrypt(t, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, []byte(`{"routing_number":"110000000"}`))},
		"ssn":    {Type: "social_security_number", Encrypted: joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, jose.A128GCM, nil, []byte(`"123-45-6789"`))},
	}
	for _, e := range btEncodings {
		t.Run(e.name, func(t *testing.T) {
			v := btValue(t, e.enc, m)
			d := NewDecrypter(allKeysLookup(t).lookup, 8)
			out, err := d.ParseBTEncrypted(v)
			if err != nil {
				t.Fatal(err)
			}
			if cap(out) > len(out)+1 { // +1: no comma after the last alias
				t.Fatalf("output buffer oversized: len %d cap %d", len(out), cap(out))
			}
			var got map[string]struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("result is not JSON: %v: %s", err, out)
			}
			if len(got) != 3 || got["tokenA"].Type != "card" || string(got["tokenA"].Data) != `{"number":"4242424242424242"}` ||
				got["tokenB"].Type != "bank" || string(got["tokenB"].Data) != `{"routing_number":"110000000"}` ||
				got["ssn"].Type != "social_security_number" || string(got["ssn"].Data) != `"123-45-6789"` {
				t.Fatalf("result = %s", out)
			}
		})
	}
}

// TestParseBTEncryptedAlphabetsDiffer makes sure the alphabet tests above
// exercise both alphabets: the value contains characters 62 and 63.
func TestParseBTEncryptedAlphabetsDiffer(t *testing.T) {
	k := testKeys(t)
	raw := []byte(`{"type":"card","encrypted":"` + testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`{"a":1}`)) + `"}`)
	std := base64.StdEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") {
		t.Skip("value happens to use no alphabet-specific characters")
	}
	for _, v := range []string{std, base64.URLEncoding.EncodeToString(raw)} {
		if _, err := ParseBTEncrypted([]byte(v), allKeysLookup(t).lookup); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
}

func TestParseBTEncryptedTypeCopiedVerbatim(t *testing.T) {
	k := testKeys(t)
	jwe := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`))
	for _, typ := range []string{`"ca\"rd"`, `"\u003cscript\u003e"`, `""`} {
		raw := `{"type":` + typ + `,"encrypted":"` + jwe + `"}`
		out, err := ParseBTEncrypted([]byte(base64.StdEncoding.EncodeToString([]byte(raw))), allKeysLookup(t).lookup)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !json.Valid(out) || string(out) != `{"type":`+typ+`,"data":1}` {
			t.Fatalf("%s: result %s", typ, out)
		}
	}
}

func TestParseBTEncryptedWhitespace(t *testing.T) {
	k := testKeys(t)
	jwe := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`))
	raw := " {\n \"type\" : \"card\" ,\t\"encrypted\":\"" + jwe + "\" } \n"
	v := "  " + base64.StdEncoding.EncodeToString([]byte(raw)) + "\t"
	out, err := ParseBTEncrypted([]byte(v), allKeysLookup(t).lookup)
	if err != nil || string(out) != `{"type":"card","data":1}` {
		t.Fatalf("got %s, %v", out, err)
	}
}

func TestParseBTEncryptedRejects(t *testing.T) {
	k := testKeys(t)
	good := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`{"number":"4242424242424242"}`))
	bad := flipChar(good, len(good)-10)
	std := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	manyAliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"t%d":{"type":"card","encrypted":"%s"}`, i, good)
		}
		b.WriteString("}")
		return b.String()
	}
	single := `{"type":"card","encrypted":"` + good + `"}`
	tests := []struct{ name, value string }{
		{name: "empty", value: ""},
		{name: "only spaces", value: "   "},
		{name: "not base64", value: "not base64!"},
		{name: "mixed alphabets", value: strings.Replace(std(single), "A", "-", 1) + "+"},
		{name: "line break inside", value: std(single)[:8] + "\n" + std(single)[8:]},
		{name: "three pad characters", value: std(single) + "==="},
		{name: "padding in the middle", value: std(single)[:4] + "=" + std(single)[4:]},
		{name: "wrong padding", value: wrongPad(std(single))},
		{name: "not JSON", value: std("hello")},
		{name: "JSON array", value: std(`[` + single + `]`)},
		{name: "JSON string", value: std(`"` + good + `"`)},
		{name: "empty object", value: std(`{}`)},
		{name: "trailing data", value: std(single + `{}`)},
		{name: "single without type", value: std(`{"encrypted":"` + good + `"}`)},
		{name: "single with extra member", value: std(`{"type":"card","encrypted":"` + good + `","data":{"number":"1"}}`)},
		{name: "single with type not a string", value: std(`{"type":7,"encrypted":"` + good + `"}`)},
		{name: "single with duplicate encrypted", value: std(`{"type":"card","encrypted":"` + good + `","encrypted":"` + good + `"}`)},
		{name: "single with bad JWE", value: std(`{"type":"card","encrypted":"` + bad + `"}`)},
		{name: "encrypted with escapes", value: std(`{"type":"card","encrypted":"` + strings.Replace(good, ".", `\u002e`, 1) + `"}`)},
		{name: "alias value not an object", value: std(`{"a":"` + good + `"}`)},
		{name: "alias missing encrypted", value: std(`{"a":{"type":"card"}}`)},
		{name: "alias with extra member", value: std(`{"a":{"type":"card","encrypted":"` + good + `","x":1}}`)},
		{name: "duplicate alias", value: std(`{"a":{"type":"card","encrypted":"` + good + `"},"a":{"type":"card","encrypted":"` + good + `"}}`)},
		{name: "escaped alias", value: std(`{"\u0061":{"type":"card","encrypted":"` + good + `"}}`)},
		{name: "empty alias", value: std(`{"":{"type":"card","encrypted":"` + good + `"}}`)},
		{name: "one bad JWE among good ones", value: std(`{"a":{"type":"card","encrypted":"` + good + `"},"b":{"type":"card","encrypted":"` + bad + `"}}`)},
		{name: "too many aliases", value: std(manyAliases(MaxAliases + 1))},
		{name: "oversize", value: strings.Repeat("A", MaxBTEncryptedSize+4)},
		{name: "deep nesting", value: std(strings.Repeat("[", 100_000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ParseBTEncrypted([]byte(tt.value), allKeysLookup(t).lookup)
			assertOpaque(t, err)
			if out != nil {
				t.Fatalf("output returned with the error: %q", out)
			}
		})
	}
	t.Run("exactly MaxAliases", func(t *testing.T) {
		out, err := NewDecrypter(allKeysLookup(t).lookup, 4).ParseBTEncrypted([]byte(std(manyAliases(MaxAliases))))
		if err != nil || !json.Valid(out) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("nil lookup", func(t *testing.T) {
		_, err := ParseBTEncrypted([]byte(std(single)), nil)
		assertOpaque(t, err)
	})
}

// wrongPad re-pads standard base64 with the wrong number of '='.
func wrongPad(s string) string {
	s = strings.TrimRight(s, "=")
	switch len(s) % 4 {
	case 2:
		return s + "="
	case 3:
		return s + "=="
	}
	return s + "="
}
