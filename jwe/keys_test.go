package jwe

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	k := testKeys(t)
	tests := []struct {
		name    string
		kp      *KeyPair
		alg     string
		kty     string
		checkPK func(t *testing.T, der []byte)
	}{
		{name: "default is X25519", kp: k.x25519, alg: "ECDH-ES", kty: "OKP"},
		{name: "explicit ECDH-ES", kp: k.x25519b, alg: "ECDH-ES", kty: "OKP"},
		{name: "P-256", kp: k.p256, alg: "ECDH-ES+A256KW", kty: "EC", checkPK: func(t *testing.T, der []byte) {
			pub, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				t.Fatal(err)
			}
			if ec, ok := pub.(*ecdsa.PublicKey); !ok || ec.Curve != elliptic.P256() {
				t.Fatalf("SPKI is %T, want P-256", pub)
			}
		}},
		{name: "RSA", kp: k.rsa, alg: "RSA-OAEP-256", kty: "RSA", checkPK: func(t *testing.T, der []byte) {
			pub, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := pub.(*rsa.PublicKey); !ok || r.N.BitLen() != 2048 {
				t.Fatalf("SPKI is %T, want RSA 2048", pub)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kp.Alg != tt.alg {
				t.Fatalf("Alg = %q, want %q", tt.kp.Alg, tt.alg)
			}
			var jwk map[string]any
			if err := json.Unmarshal(tt.kp.JWK, &jwk); err != nil {
				t.Fatal(err)
			}
			if jwk["kid"] != tt.kp.KID || jwk["alg"] != tt.alg || jwk["use"] != "enc" || jwk["kty"] != tt.kty {
				t.Fatalf("JWK = %s", tt.kp.JWK)
			}
			if _, hasD := jwk["d"]; hasD {
				t.Fatal("public JWK contains the private key")
			}
			blk, rest := pem.Decode([]byte(tt.kp.PublicKeyPEM))
			if blk == nil || blk.Type != "PUBLIC KEY" || len(rest) != 0 {
				t.Fatalf("PEM = %q", tt.kp.PublicKeyPEM)
			}
			if tt.checkPK != nil {
				tt.checkPK(t, blk.Bytes)
			} else {
				// X25519: the PEM body is the raw key, equal to the JWK's x.
				if len(blk.Bytes) != 32 || b64.EncodeToString(blk.Bytes) != jwk["x"] || jwk["crv"] != "X25519" {
					t.Fatalf("X25519 PEM body %x does not match JWK %s", blk.Bytes, tt.kp.JWK)
				}
				if len(jwk) != 6 {
					t.Fatalf("X25519 JWK has unexpected members: %s", tt.kp.JWK)
				}
			}
			if _, err := x509.ParsePKCS8PrivateKey(tt.kp.Private); err != nil {
				t.Fatalf("Private is not PKCS#8: %v", err)
			}
			if pk, ok := parsePrivate(tt.kp.Private); !ok || pk.kind() == kindNone {
				t.Fatal("parsePrivate refused a generated key")
			}
		})
	}
}

func TestGenerateKeyDistinct(t *testing.T) {
	a, err := GenerateKey("", "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateKey("", "a")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Private, b.Private) || a.PublicKeyPEM == b.PublicKeyPEM {
		t.Fatal("two generated keys are equal")
	}
}

func TestGenerateKeyRejects(t *testing.T) {
	tests := []struct {
		name, alg, kid string
		want           error
	}{
		{name: "empty kid", alg: "", kid: "", want: ErrInvalidKID},
		{name: "kid too long", alg: "", kid: strings.Repeat("k", MaxKIDLength+1), want: ErrInvalidKID},
		{name: "kid with quote", alg: "", kid: `a"b`, want: ErrInvalidKID},
		{name: "kid with backslash", alg: "", kid: `a\b`, want: ErrInvalidKID},
		{name: "kid with html char", alg: "", kid: "a<b", want: ErrInvalidKID},
		{name: "kid with newline", alg: "", kid: "a\nb", want: ErrInvalidKID},
		{name: "kid non-ascii", alg: "", kid: "clé", want: ErrInvalidKID},
		{name: "alg none", alg: "none", kid: "k", want: ErrUnsupportedAlgorithm},
		{name: "alg dir", alg: "dir", kid: "k", want: ErrUnsupportedAlgorithm},
		{name: "alg RSA1_5", alg: "RSA1_5", kid: "k", want: ErrUnsupportedAlgorithm},
		{name: "alg PBES2", alg: "PBES2-HS256+A128KW", kid: "k", want: ErrUnsupportedAlgorithm},
		{name: "alg lowercase", alg: "ecdh-es", kid: "k", want: ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := GenerateKey(tt.alg, tt.kid)
			if !errors.Is(err, tt.want) || kp != nil {
				t.Fatalf("GenerateKey = %v, %v; want %v", kp, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "jwe: ") {
				t.Fatalf("error not prefixed: %q", err)
			}
		})
	}
	if _, err := GenerateKey("", strings.Repeat("k", MaxKIDLength)); err != nil {
		t.Fatalf("kid of MaxKIDLength refused: %v", err)
	}
	if _, err := GenerateKey("", "Ab-9_.:z"); err != nil {
		t.Fatalf("kid with every allowed punctuation refused: %v", err)
	}
}

// TestPKCS8X25519Prefix pins the fast path of parsePrivate to what x509
// actually produces.
func TestPKCS8X25519Prefix(t *testing.T) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if len(der) != len(pkcs8X25519Prefix)+32 || !bytes.HasPrefix(der, pkcs8X25519Prefix) ||
		!bytes.Equal(der[len(pkcs8X25519Prefix):], k.Bytes()) {
		t.Fatalf("PKCS#8 X25519 = %x, prefix %x", der, pkcs8X25519Prefix)
	}
}

func TestParsePrivateRejects(t *testing.T) {
	mustPKCS8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ecdhP256, _ := ecdh.P256().GenerateKey(rand.Reader)
	good := testKeys(t).x25519.Private
	truncated := good[:len(good)-1]
	tests := []struct {
		name string
		der  []byte
	}{
		{name: "nil"},
		{name: "garbage", der: []byte("not a key")},
		{name: "truncated X25519", der: truncated},
		{name: "X25519 prefix with wrong length", der: append(append([]byte{}, good...), 0)},
		{name: "P-384", der: mustPKCS8(p384)},
		{name: "Ed25519", der: mustPKCS8(ed)},
		{name: "P-256 with trailing data", der: append(mustPKCS8(ecdhP256), 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, ok := parsePrivate(tt.der); ok {
				t.Fatalf("parsePrivate accepted it as kind %d", k.kind())
			}
		})
	}
}
