package jwe

import (
	"encoding/base64"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var benchCard = []byte(`{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`)

// benchDecrypt reports the cost of one decryption through a caching Decrypter
// (the server's configuration) and through the package-level Decrypt, which
// parses the private key every time.
func benchDecrypt(b *testing.B, compact []byte) {
	l := allKeysLookup(b)
	b.Run("cached", func(b *testing.B) {
		d := NewDecrypter(l.lookup, 8)
		b.ReportAllocs()
		b.SetBytes(int64(len(compact)))
		for b.Loop() {
			if _, err := d.Decrypt(compact); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(compact)))
		for b.Loop() {
			if _, err := Decrypt(compact, l.lookup); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecryptX25519(b *testing.B) {
	k := testKeys(b)
	benchDecrypt(b, []byte(testEncryptX25519(b, rawX25519(b, k.x25519), k.x25519.KID, x25519Opts{}, benchCard)))
}

func BenchmarkDecryptP256(b *testing.B) {
	k := testKeys(b)
	benchDecrypt(b, []byte(joseEncrypt(b, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, benchCard)))
}

func BenchmarkDecryptRSA(b *testing.B) {
	k := testKeys(b)
	benchDecrypt(b, []byte(joseEncrypt(b, k.rsa, jose.RSA_OAEP_256, jose.A256GCM, nil, benchCard)))
}

// BenchmarkDecryptP256GoJoseBaseline is go-jose alone on the same input, with
// the key already parsed: the floor under BenchmarkDecryptP256/cached.
func BenchmarkDecryptP256GoJoseBaseline(b *testing.B) {
	k := testKeys(b)
	compact := joseEncrypt(b, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, benchCard)
	key, _ := parsePrivate(k.p256.Private)
	b.ReportAllocs()
	for b.Loop() {
		obj, err := jose.ParseEncryptedCompact(compact, []jose.KeyAlgorithm{jose.ECDH_ES_A256KW}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := obj.Decrypt(key.p256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBTEncrypted(b *testing.B) {
	k := testKeys(b)
	jwe := testEncryptX25519(b, rawX25519(b, k.x25519), k.x25519.KID, x25519Opts{}, benchCard)
	single := base64.StdEncoding.EncodeToString([]byte(`{"type":"card","encrypted":"` + jwe + `"}`))
	multi := `{`
	for i, alias := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		if i > 0 {
			multi += ","
		}
		multi += `"` + alias + `":{"type":"card","encrypted":"` + jwe + `"}`
	}
	multi = base64.RawURLEncoding.EncodeToString([]byte(multi + `}`))
	d := NewDecrypter(allKeysLookup(b).lookup, 8)
	for _, c := range []struct{ name, v string }{{"single", single}, {"10 aliases", multi}} {
		b.Run(c.name, func(b *testing.B) {
			v := []byte(c.v)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.ParseBTEncrypted(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConcatKDF(b *testing.B) {
	z := make([]byte, 32)
	dst := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		concatKDF(dst, z, []byte("A256GCM"), nil, nil)
	}
}

// TestDecryptX25519Allocs keeps the hot path's allocations from creeping up.
func TestDecryptX25519Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	k := testKeys(t)
	compact := []byte(testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, benchCard))
	d := NewDecrypter(allKeysLookup(t).lookup, 8)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.Decrypt(compact); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > maxX25519Allocs {
		t.Fatalf("X25519 decrypt: %v allocs, budget %d", allocs, maxX25519Allocs)
	}
}

func TestConcatKDFAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	z, dst := make([]byte, 32), make([]byte, 32)
	if n := testing.AllocsPerRun(100, func() { concatKDF(dst, z, []byte("A256GCM"), []byte("Alice"), []byte("Bob")) }); n != 0 {
		t.Fatalf("concatKDF allocates %v times", n)
	}
}

// maxX25519Allocs is the budget for one cached X25519 decryption: measured 6
// with Go 1.26 (epk key and copy, shared secret, AES block, GCM, the
// IV|ciphertext|tag buffer that becomes the output; the kid string is reused).
const maxX25519Allocs = 6
