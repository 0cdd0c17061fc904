package jwe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// testKeySet holds one key of each kind, generated once per test binary (RSA
// generation is slow).
type testKeySet struct {
	x25519, x25519b, p256, rsa *KeyPair
}

var (
	testKeysOnce sync.Once
	testKeysVal  testKeySet
	testKeysErr  error
)

func testKeys(tb testing.TB) testKeySet {
	tb.Helper()
	testKeysOnce.Do(func() {
		gen := func(alg, kid string) *KeyPair {
			kp, err := GenerateKey(alg, kid)
			if err != nil && testKeysErr == nil {
				testKeysErr = fmt.Errorf("GenerateKey(%q): %w", alg, err)
			}
			return kp
		}
		testKeysVal = testKeySet{
			x25519:  gen("", "x25519-key"),
			x25519b: gen(AlgECDHES, "x25519-other"),
			p256:    gen(AlgECDHESA256KW, "p256-key"),
			rsa:     gen(AlgRSAOAEP256, "rsa-key"),
		}
	})
	if testKeysErr != nil {
		tb.Fatal(testKeysErr)
	}
	return testKeysVal
}

// countingLookup serves the given key pairs by kid and counts calls.
type countingLookup struct {
	keys  map[string]*KeyPair
	calls atomic.Int64
}

func newLookup(pairs ...*KeyPair) *countingLookup {
	l := &countingLookup{keys: map[string]*KeyPair{}}
	for _, kp := range pairs {
		l.keys[kp.KID] = kp
	}
	return l
}

var errNoKey = errors.New("test: no such key")

func (l *countingLookup) lookup(kid string) (string, []byte, error) {
	l.calls.Add(1)
	kp, ok := l.keys[kid]
	if !ok {
		return "", nil, errNoKey
	}
	return kp.Alg, kp.Private, nil
}

func allKeysLookup(tb testing.TB) *countingLookup {
	k := testKeys(tb)
	return newLookup(k.x25519, k.x25519b, k.p256, k.rsa)
}

// assertOpaque fails unless err is exactly the opaque decryption error.
func assertOpaque(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		tb.Fatal("expected ErrDecrypt, got success")
	}
	if !errors.Is(err, ErrDecrypt) {
		tb.Fatalf("expected ErrDecrypt, got %v", err)
	}
	if err.Error() != "jwe: decryption failed" {
		tb.Fatalf("error message is not the opaque one: %q", err.Error())
	}
}

var b64 = base64.RawURLEncoding

// x25519PublicFromPEM reads the public key the way Basis Theory's SDKs do: the
// PEM body is the raw 32-byte key.
func x25519PublicFromPEM(tb testing.TB, pemText string) []byte {
	tb.Helper()
	blk, rest := pem.Decode([]byte(pemText))
	if blk == nil || blk.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 || len(blk.Bytes) != 32 {
		tb.Fatalf("bad X25519 PEM %q", pemText)
	}
	return blk.Bytes
}

// refConcatKDF is the test's own Concat KDF (RFC 7518 §4.6.2), written
// independently of the package's: a streaming hash over the fields.
func refConcatKDF(z []byte, algID string, apu, apv []byte, keyBits int) []byte {
	var out []byte
	for counter := uint32(1); len(out)*8 < keyBits; counter++ {
		h := sha256.New()
		_ = binary.Write(h, binary.BigEndian, counter)
		h.Write(z)
		for _, field := range [][]byte{[]byte(algID), apu, apv} {
			_ = binary.Write(h, binary.BigEndian, uint32(len(field)))
			h.Write(field)
		}
		_ = binary.Write(h, binary.BigEndian, uint32(keyBits))
		out = h.Sum(out)
	}
	return out[:keyBits/8]
}

// sealCompact encodes headerJSON, seals plaintext under cek with AES-GCM
// (AAD = the encoded header) and returns the compact JWE with the given
// encrypted-key part.
func sealCompact(tb testing.TB, headerJSON string, encryptedKey, cek, plaintext []byte) string {
	tb.Helper()
	block, err := aes.NewCipher(cek)
	if err != nil {
		tb.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	iv := make([]byte, 12)
	if _, err := rand.Read(iv); err != nil {
		tb.Fatal(err)
	}
	h := b64.EncodeToString([]byte(headerJSON))
	sealed := gcm.Seal(nil, iv, plaintext, []byte(h))
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	return h + "." + b64.EncodeToString(encryptedKey) + "." + b64.EncodeToString(iv) + "." +
		b64.EncodeToString(ct) + "." + b64.EncodeToString(tag)
}

// x25519Opts shape a JWE made by testEncryptX25519.
type x25519Opts struct {
	enc      string // default A256GCM
	apu, apv []byte
	extra    string // raw members appended to the header, each with a leading comma
}

// testEncryptX25519 is the test's own encryptor for the Basis Theory format:
// ephemeral X25519 key, refConcatKDF, AES-GCM.
func testEncryptX25519(tb testing.TB, recipient []byte, kid string, o x25519Opts, plaintext []byte) string {
	tb.Helper()
	if o.enc == "" {
		o.enc = "A256GCM"
	}
	epkX, z := x25519Agree(tb, recipient)
	keyBits := 256
	if o.enc == "A128GCM" {
		keyBits = 128
	}
	cek := refConcatKDF(z, o.enc, o.apu, o.apv, keyBits)
	hdr := fmt.Sprintf(`{"alg":"ECDH-ES","enc":%q,"kid":%q,"epk":{"kty":"OKP","crv":"X25519","x":%q}`,
		o.enc, kid, epkX)
	if o.apu != nil {
		hdr += fmt.Sprintf(`,"apu":%q`, b64.EncodeToString(o.apu))
	}
	if o.apv != nil {
		hdr += fmt.Sprintf(`,"apv":%q`, b64.EncodeToString(o.apv))
	}
	hdr += o.extra + "}"
	return sealCompact(tb, hdr, nil, cek, plaintext)
}

// x25519Agree makes an ephemeral X25519 key and agrees with recipient: the epk's x
// (base64url) and the shared secret.
func x25519Agree(tb testing.TB, recipient []byte) (epkX string, z []byte) {
	tb.Helper()
	pub, err := ecdh.X25519().NewPublicKey(recipient)
	if err != nil {
		tb.Fatal(err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	z, err = eph.ECDH(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return b64.EncodeToString(eph.PublicKey().Bytes()), z
}

// joseEncrypt encrypts to kp with go-jose, using only the public JWK that
// GenerateKey returned.
func joseEncrypt(tb testing.TB, kp *KeyPair, alg jose.KeyAlgorithm, enc jose.ContentEncryption, opts *jose.EncrypterOptions, plaintext []byte) string {
	tb.Helper()
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(kp.JWK, &jwk); err != nil {
		tb.Fatalf("public JWK does not parse with go-jose: %v", err)
	}
	if !jwk.IsPublic() || jwk.KeyID != kp.KID {
		tb.Fatalf("JWK is not a public key with the kid: %s", kp.JWK)
	}
	e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: alg, Key: &jwk}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := e.Encrypt(plaintext)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// rewriteHeader decodes the protected header of compact, passes it through
// edit, and re-encodes it. The tag no longer matches unless the caller reseals.
func rewriteHeader(tb testing.TB, compact string, edit func(map[string]any)) string {
	tb.Helper()
	parts := bytes.Split([]byte(compact), []byte("."))
	raw, err := b64.DecodeString(string(parts[0]))
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	raw, err = json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	parts[0] = []byte(b64.EncodeToString(raw))
	return string(bytes.Join(parts, []byte(".")))
}

// withHeader replaces the protected header of compact by headerJSON verbatim.
func withHeader(compact, headerJSON string) string {
	parts := bytes.SplitN([]byte(compact), []byte("."), 2)
	return b64.EncodeToString([]byte(headerJSON)) + "." + string(parts[1])
}
