package jwegen

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/sluice-edge/sluice/jwe"
)

// TestEncryptDecryptsWithPackageJWE checks interoperability: what this package builds, the
// edge's decrypter opens.
func TestEncryptDecryptsWithPackageJWE(t *testing.T) {
	plaintext := []byte(`{"number":"4242424242424242","expiration_month":12}`)
	for _, alg := range []string{AlgECDHES, AlgECDHESA256KW, AlgRSAOAEP256} {
		t.Run(alg, func(t *testing.T) {
			kp, err := jwe.GenerateKey(alg, "kid-"+map[string]string{AlgECDHES: "x", AlgECDHESA256KW: "p", AlgRSAOAEP256: "r"}[alg])
			if err != nil {
				t.Fatal(err)
			}
			lookup := func(kid string) (string, []byte, error) {
				if kid != kp.KID {
					return "", nil, errors.New("unknown kid")
				}
				return kp.Alg, kp.Private, nil
			}
			compact, err := Encrypt(kp.PublicKeyPEM, alg, kp.KID, plaintext)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jwe.Decrypt([]byte(compact), lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plaintext) {
				t.Fatalf("got %s", got)
			}
			payload, err := jwe.ParseBTEncrypted([]byte(BTEncrypted("card", compact)), lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(payload, plaintext) || !bytes.Contains(payload, []byte(`"card"`)) {
				t.Fatalf("BT-ENCRYPTED payload %s", payload)
			}
		})
	}
}

func TestEncryptRefusesMismatchedKeys(t *testing.T) {
	x, _ := jwe.GenerateKey(AlgECDHES, "x")
	p, _ := jwe.GenerateKey(AlgECDHESA256KW, "p")
	r, _ := jwe.GenerateKey(AlgRSAOAEP256, "r")
	tests := []struct {
		name, pem, alg string
		want           error
	}{
		{"not pem", "garbage", AlgECDHES, ErrPublicKey},
		{"rsa key for x25519", r.PublicKeyPEM, AlgECDHES, ErrPublicKey},
		{"x25519 key for p-256", x.PublicKeyPEM, AlgECDHESA256KW, ErrPublicKey},
		{"rsa key for p-256", r.PublicKeyPEM, AlgECDHESA256KW, ErrPublicKey},
		{"p-256 key for rsa", p.PublicKeyPEM, AlgRSAOAEP256, ErrPublicKey},
		{"alg none", x.PublicKeyPEM, "none", ErrAlg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Encrypt(tt.pem, tt.alg, "k", []byte(`1`)); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// TestKeyWrapRFC3394 is the test vector of RFC 3394 §4.6 (256-bit key with a 256-bit KEK).
func TestKeyWrapRFC3394(t *testing.T) {
	kek, _ := hex.DecodeString("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	key, _ := hex.DecodeString("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
	want := "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
	got, err := KeyWrap(kek, key)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != lower(want) {
		t.Fatalf("got %X", got)
	}
	if _, err := KeyWrap(kek, key[:12]); err == nil {
		t.Fatal("short key accepted")
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }
