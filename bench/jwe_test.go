package bench

import (
	"errors"
	"testing"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/bench/internal/jwegen"
	"github.com/sluice-edge/sluice/jwe"
)

// jweCases are the key algorithms Sluice accepts in BT-ENCRYPTED, each as a benchmark name.
var jweCases = []struct{ name, alg string }{
	{"X25519-ECDH-ES", jwegen.AlgECDHES},
	{"P256-ECDH-ES+A256KW", jwegen.AlgECDHESA256KW},
	{"RSA2048-OAEP-256", jwegen.AlgRSAOAEP256},
}

// jweFixture makes a key for alg and a JWE of a card number's data to it. The decrypter caches
// parsed private keys like the server's (jwe.NewDecrypter(lookup, 256)).
func jweFixture(tb testing.TB, alg string) (*jwe.Decrypter, string) {
	tb.Helper()
	kp, err := jwe.GenerateKey(alg, "bench-"+alg[:3])
	if err != nil {
		tb.Fatal(err)
	}
	lookup := func(kid string) (string, []byte, error) {
		if kid != kp.KID {
			return "", nil, errors.New("unknown key")
		}
		return kp.Alg, kp.Private, nil
	}
	compact, err := jwegen.Encrypt(kp.PublicKeyPEM, alg, kp.KID, []byte(`"`+fixture.PANs[0]+`"`))
	if err != nil {
		tb.Fatal(err)
	}
	return jwe.NewDecrypter(lookup, 256), compact
}

// BenchmarkJWEDecrypt: one compact JWE (enc A256GCM) per key algorithm, key parsed and cached.
func BenchmarkJWEDecrypt(b *testing.B) {
	for _, c := range jweCases {
		b.Run(c.name, func(b *testing.B) {
			d, compact := jweFixture(b, c.alg)
			in := []byte(compact)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decrypt(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJWEBTEncrypted: a whole BT-ENCRYPTED header value with one token, as the proxy gets it
// (base64, JSON envelope, X25519 JWE).
func BenchmarkJWEBTEncrypted(b *testing.B) {
	d, compact := jweFixture(b, jwegen.AlgECDHES)
	hdr := []byte(jwegen.BTEncrypted("card_number", compact))
	b.ReportAllocs()
	b.SetBytes(int64(len(hdr)))
	for b.Loop() {
		if _, err := d.ParseBTEncrypted(hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// TestJWEFixtures: every benchmark input decrypts to the card.
func TestJWEFixtures(t *testing.T) {
	for _, c := range jweCases {
		t.Run(c.name, func(t *testing.T) {
			d, compact := jweFixture(t, c.alg)
			pt, err := d.Decrypt([]byte(compact))
			if err != nil || string(pt) != `"`+fixture.PANs[0]+`"` {
				t.Fatalf("%v", err)
			}
		})
	}
}
