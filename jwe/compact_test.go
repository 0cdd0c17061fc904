package jwe

import (
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// compactsOfEveryPath is one valid JWE per decryption path, each with every part non-empty but
// the X25519 one's encrypted key.
func compactsOfEveryPath(t *testing.T) map[string]string {
	k := testKeys(t)
	return map[string]string{
		"X25519":         testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`{"a":"bcdefghijk"}`)),
		"P-256 A256KW":   joseEncrypt(t, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, []byte(`{"a":"bcdefghijk"}`)),
		"P-256 ECDH-ES":  joseEncrypt(t, k.p256, jose.ECDH_ES, jose.A256GCM, nil, []byte(`{"a":"bcdefghijk"}`)),
		"RSA-OAEP-256":   joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, jose.A256GCM, nil, []byte(`{"a":"bcdefghijk"}`)),
		"X25519 A128GCM": testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{enc: "A128GCM"}, []byte(`"x"`)),
	}
}

// TestRejectStrayByteInEveryPartBeforeLookup: a byte outside base64url — in any part, on any
// path, go-jose's included — is refused before a key is looked up (encoding/base64 would skip a
// line break; padding and the standard alphabet are other encodings).
func TestRejectStrayByteInEveryPartBeforeLookup(t *testing.T) {
	for path, good := range compactsOfEveryPath(t) {
		if _, err := Decrypt([]byte(good), allKeysLookup(t).lookup); err != nil {
			t.Fatalf("%s: the valid JWE is refused", path)
		}
		parts := strings.Split(good, ".")
		for part := range parts {
			if parts[part] == "" {
				continue
			}
			for _, c := range []string{"\n", "\r", "=", "+", "/", " ", "\x00", "\xff", "%", "."} {
				bad := append([]string(nil), parts...)
				bad[part] = bad[part][:len(bad[part])/2] + c + bad[part][len(bad[part])/2:]
				t.Run(path+"/"+string(rune('0'+part))+"/"+c, func(t *testing.T) {
					mustRejectBeforeLookup(t, strings.Join(bad, "."))
				})
			}
		}
	}
}

// TestRejectTrailingBitsInEveryPart: a part whose last character carries bits past the last
// byte decodes to the same bytes as the canonical part, so it would be a second spelling of the
// same JWE; it is refused on every path, go-jose's included (its decoder ignores those bits).
func TestRejectTrailingBitsInEveryPart(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for path, good := range compactsOfEveryPath(t) {
		parts := strings.Split(good, ".")
		for part, p := range parts {
			if len(p)%4 < 2 {
				continue // no bits after the last byte
			}
			v := strings.IndexByte(alphabet, p[len(p)-1])
			v |= map[int]int{2: 0x0f, 3: 0x03}[len(p)%4] // set every unused bit
			if alphabet[v] == p[len(p)-1] {
				t.Fatalf("%s part %d: unused bits already set", path, part)
			}
			bad := append([]string(nil), parts...)
			bad[part] = p[:len(p)-1] + alphabet[v:v+1]
			t.Run(path+"/"+string(rune('0'+part)), func(t *testing.T) {
				mustRejectBeforeLookup(t, strings.Join(bad, "."))
			})
		}
	}
}
