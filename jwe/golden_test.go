package jwe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// goldenVector is a complete, deterministic X25519 JWE: fixed keys (RFC 7748
// §6.1 Alice as the ephemeral key, Bob as the recipient, the same keys RFC 8037
// Appendix A.6 uses), fixed IV, fixed plaintext.
type goldenVector struct {
	Comment    string `json:"comment"`
	PrivatePK8 []byte `json:"private_pkcs8"`
	KID        string `json:"kid"`
	JWE        string `json:"jwe"`
	Plaintext  string `json:"plaintext"`
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buildGoldenX25519(t *testing.T, enc string) goldenVector {
	alice, err := ecdh.X25519().NewPrivateKey(mustHex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := ecdh.X25519().NewPrivateKey(mustHex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	if err != nil {
		t.Fatal(err)
	}
	// RFC 7748 §6.1 known answers.
	if hex.EncodeToString(alice.PublicKey().Bytes()) != "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a" ||
		hex.EncodeToString(bob.PublicKey().Bytes()) != "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f" {
		t.Fatal("RFC 7748 public keys do not match")
	}
	z, err := alice.ECDH(bob.PublicKey())
	if err != nil || hex.EncodeToString(z) != "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" {
		t.Fatalf("RFC 7748 shared secret does not match: %x %v", z, err)
	}
	keyBits := 256
	if enc == "A128GCM" {
		keyBits = 128
	}
	plaintext := `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030}`
	hdr := `{"alg":"ECDH-ES","enc":"` + enc + `","kid":"bob","epk":{"kty":"OKP","crv":"X25519","x":"` +
		b64.EncodeToString(alice.PublicKey().Bytes()) + `"}}`
	block, _ := aes.NewCipher(refConcatKDF(z, enc, nil, nil, keyBits))
	gcm, _ := cipher.NewGCM(block)
	iv := []byte("sluice-gold!")
	h := b64.EncodeToString([]byte(hdr))
	sealed := gcm.Seal(nil, iv, []byte(plaintext), []byte(h))
	der, err := x509.MarshalPKCS8PrivateKey(bob)
	if err != nil {
		t.Fatal(err)
	}
	return goldenVector{
		Comment:    "X25519 ECDH-ES " + enc + ": recipient = RFC 7748 Bob, ephemeral = RFC 7748 Alice, IV = \"sluice-gold!\"",
		PrivatePK8: der,
		KID:        "bob",
		JWE: h + ".." + b64.EncodeToString(iv) + "." + b64.EncodeToString(sealed[:len(sealed)-16]) + "." +
			b64.EncodeToString(sealed[len(sealed)-16:]),
		Plaintext: plaintext,
	}
}

func TestGoldenX25519(t *testing.T) {
	for _, enc := range []string{"A256GCM", "A128GCM"} {
		t.Run(enc, func(t *testing.T) {
			path := filepath.Join("testdata", "x25519_"+enc+".json")
			built := buildGoldenX25519(t, enc)
			if *update {
				b, _ := json.MarshalIndent(built, "", "  ")
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			var g goldenVector
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			if g.JWE != built.JWE || !bytes.Equal(g.PrivatePK8, built.PrivatePK8) {
				t.Fatal("the test encryptor no longer reproduces the golden JWE")
			}
			lookup := func(kid string) (string, []byte, error) {
				if kid != g.KID {
					return "", nil, errNoKey
				}
				return AlgECDHES, g.PrivatePK8, nil
			}
			out, err := Decrypt([]byte(g.JWE), lookup)
			if err != nil || string(out) != g.Plaintext {
				t.Fatalf("Decrypt(golden) = %s, %v", out, err)
			}
		})
	}
}
