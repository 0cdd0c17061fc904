package jwe

import (
	"encoding/base64"
	"testing"
)

// TestParseBTEncryptedRejectsMixedForms: a value that mixes the single form's members with the
// map form's aliases is refused, whichever member comes first (the form is told by the first).
func TestParseBTEncryptedRejectsMixedForms(t *testing.T) {
	k := testKeys(t)
	good := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`))
	alias := `"a":{"type":"card","encrypted":"` + good + `"}`
	pair := `"type":"card","encrypted":"` + good + `"`
	for _, raw := range []string{
		`{` + alias + `,` + pair + `}`,
		`{` + pair + `,` + alias + `}`,
		`{"type":"card",` + alias + `}`,
		`{"x":"y",` + alias + `}`,
		`{` + alias + `,"x":"y"}`,
		`{"encrypted":"` + good + `",` + alias + `}`,
	} {
		out, err := ParseBTEncrypted([]byte(base64.StdEncoding.EncodeToString([]byte(raw))), allKeysLookup(t).lookup)
		if err == nil || out != nil {
			t.Errorf("accepted %s", raw)
		}
	}
	for _, raw := range []string{`{` + pair + `}`, `{"encrypted":"` + good + `","type":"card"}`, `{` + alias + `}`} {
		if _, err := ParseBTEncrypted([]byte(base64.StdEncoding.EncodeToString([]byte(raw))), allKeysLookup(t).lookup); err != nil {
			t.Errorf("refused %s: %v", raw, err)
		}
	}
}
