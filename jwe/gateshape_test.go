package jwe

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// gateShapeKID is a key id as the server makes them (edge.NewID).
const gateShapeKID = "0193a4f2-7b1c-7d3e-9f00-5a6b7c8d9e0f"

// sdkShapeJWE encrypts plaintext to kp the way Basis Theory's SDKs (and the
// benchmark gate's client) do: a header marshalled from a map (members sorted:
// alg, enc, epk{crv, kty, x}, kid), no apu/apv, A256GCM.
func sdkShapeJWE(tb testing.TB, kp *KeyPair, plaintext []byte) string {
	tb.Helper()
	x, z := x25519Agree(tb, x25519PublicFromPEM(tb, kp.PublicKeyPEM))
	hdr, err := json.Marshal(map[string]any{"alg": AlgECDHES, "enc": "A256GCM", "kid": kp.KID,
		"epk": map[string]string{"kty": "OKP", "crv": "X25519", "x": x}})
	if err != nil {
		tb.Fatal(err)
	}
	return sealCompact(tb, string(hdr), nil, refConcatKDF(z, "A256GCM", nil, nil, 256), plaintext)
}

// sdkShapeBTEncrypted is a BT-ENCRYPTED value of one token as the SDKs send it:
// padded standard base64 of {"type":…,"encrypted":…}.
func sdkShapeBTEncrypted(tb testing.TB, kp *KeyPair, typ string, plaintext []byte) string {
	tb.Helper()
	b, err := json.Marshal(struct {
		Type      string `json:"type"`
		Encrypted string `json:"encrypted"`
	}{typ, sdkShapeJWE(tb, kp, plaintext)})
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

var gateShapeKey struct {
	kp  *KeyPair
	err error
}

func gateKey(tb testing.TB) *KeyPair {
	tb.Helper()
	if gateShapeKey.kp == nil && gateShapeKey.err == nil {
		gateShapeKey.kp, gateShapeKey.err = GenerateKey(AlgECDHES, gateShapeKID)
	}
	if gateShapeKey.err != nil {
		tb.Fatal(gateShapeKey.err)
	}
	return gateShapeKey.kp
}

// BenchmarkParseBTEncryptedSDKShape is the benchmark gate's BT-ENCRYPTED value:
// one card number in the SDKs' shape, through a caching Decrypter.
func BenchmarkParseBTEncryptedSDKShape(b *testing.B) {
	kp := gateKey(b)
	v := []byte(sdkShapeBTEncrypted(b, kp, "card_number", []byte(`"4242424242424242"`)))
	d := NewDecrypter(newLookup(kp).lookup, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.ParseBTEncrypted(v); err != nil {
			b.Fatal(err)
		}
	}
}
