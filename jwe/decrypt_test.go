package jwe

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var roundTripPlaintexts = []struct {
	name string
	data string
}{
	{name: "card object", data: `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`},
	{name: "string", data: `"123-45-6789"`},
	{name: "number", data: `42`},
	{name: "unicode and escapes", data: `{"name":"Zoë \"Z\" \u00e9","nested":[1,{"a":null}]}`},
}

// decryptBoth runs compact through the package-level Decrypt and through a
// caching Decrypter (twice, so the second call hits the cache) and checks that
// all agree.
func decryptBoth(t *testing.T, compact string, l *countingLookup) []byte {
	t.Helper()
	got, err := Decrypt([]byte(compact), l.lookup)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	d := NewDecrypter(l.lookup, 8)
	for i := 0; i < 2; i++ {
		again, err := d.Decrypt([]byte(compact))
		if err != nil {
			t.Fatalf("Decrypter.Decrypt #%d: %v", i, err)
		}
		if !bytes.Equal(again, got) {
			t.Fatalf("Decrypter.Decrypt #%d = %s, Decrypt = %s", i, again, got)
		}
	}
	return got
}

// TestRoundTripX25519 encrypts with the test's own implementation of the Basis
// Theory format (own Concat KDF), to a key read from the PEM the way the SDKs
// read it.
func TestRoundTripX25519(t *testing.T) {
	k := testKeys(t)
	l := allKeysLookup(t)
	pub := x25519PublicFromPEM(t, k.x25519.PublicKeyPEM)
	shapes := []struct {
		name string
		opts x25519Opts
	}{
		{name: "A256GCM", opts: x25519Opts{enc: "A256GCM"}},
		{name: "A128GCM", opts: x25519Opts{enc: "A128GCM"}},
		{name: "A256GCM with apu and apv", opts: x25519Opts{enc: "A256GCM", apu: []byte("Alice"), apv: []byte("Bob")}},
		{name: "A128GCM with apu only", opts: x25519Opts{enc: "A128GCM", apu: []byte("client-42")}},
		{name: "typ cty and unknown members ignored", opts: x25519Opts{extra: `,"typ":"JWE","cty":"json","x-trace":{"a":[1,2]}`}},
	}
	for _, sh := range shapes {
		for _, pt := range roundTripPlaintexts {
			t.Run(sh.name+"/"+pt.name, func(t *testing.T) {
				compact := testEncryptX25519(t, pub, k.x25519.KID, sh.opts, []byte(pt.data))
				if got := decryptBoth(t, compact, l); string(got) != pt.data {
					t.Fatalf("got %s, want %s", got, pt.data)
				}
			})
		}
	}
}

// TestRoundTripJOSE encrypts with go-jose to the public JWK GenerateKey
// returned: standard JOSE libraries can encrypt to our keys.
func TestRoundTripJOSE(t *testing.T) {
	k := testKeys(t)
	l := allKeysLookup(t)
	algs := []struct {
		name string
		kp   *KeyPair
		alg  jose.KeyAlgorithm
	}{
		{name: "P-256 ECDH-ES+A256KW", kp: k.p256, alg: jose.ECDH_ES_A256KW},
		{name: "P-256 direct ECDH-ES", kp: k.p256, alg: jose.ECDH_ES},
		{name: "RSA-OAEP-256", kp: k.rsa, alg: jose.RSA_OAEP_256},
	}
	for _, a := range algs {
		for _, enc := range []jose.ContentEncryption{jose.A256GCM, jose.A128GCM} {
			for _, pt := range roundTripPlaintexts[:2] {
				t.Run(a.name+"/"+string(enc)+"/"+pt.name, func(t *testing.T) {
					compact := joseEncrypt(t, a.kp, a.alg, enc, nil, []byte(pt.data))
					if got := decryptBoth(t, compact, l); string(got) != pt.data {
						t.Fatalf("got %s, want %s", got, pt.data)
					}
				})
			}
		}
	}
}

func TestDecryptLargePlaintext(t *testing.T) {
	k := testKeys(t)
	data := []byte(`"` + string(bytes.Repeat([]byte("a"), 150_000)) + `"`)
	compact := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, data)
	if len(compact) > MaxJWESize {
		t.Fatalf("test JWE is %d bytes, over the limit", len(compact))
	}
	got, err := Decrypt([]byte(compact), allKeysLookup(t).lookup)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decrypt = %d bytes, %v", len(got), err)
	}
}

// TestDecrypterStillConsultsLookup: a cached key whose lookup now fails (key
// deleted or expired) decrypts nothing.
func TestDecrypterStillConsultsLookup(t *testing.T) {
	k := testKeys(t)
	l := newLookup(k.x25519)
	d := NewDecrypter(l.lookup, 4)
	compact := []byte(testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`)))
	if _, err := d.Decrypt(compact); err != nil {
		t.Fatal(err)
	}
	delete(l.keys, k.x25519.KID)
	_, err := d.Decrypt(compact)
	assertOpaque(t, err)
	if l.calls.Load() != 2 {
		t.Fatalf("lookup called %d times, want 2", l.calls.Load())
	}
}

func TestDecrypterCacheBoundAndPurge(t *testing.T) {
	k := testKeys(t)
	l := allKeysLookup(t)
	d := NewDecrypter(l.lookup, 1)
	for _, kp := range []*KeyPair{k.x25519, k.x25519b, k.x25519} {
		compact := testEncryptX25519(t, rawX25519(t, kp), kp.KID, x25519Opts{}, []byte(`true`))
		if _, err := d.Decrypt([]byte(compact)); err != nil {
			t.Fatal(err)
		}
		if n := len(d.cache.m); n != 1 {
			t.Fatalf("cache holds %d keys, bound is 1", n)
		}
	}
	d.Purge()
	if n := len(d.cache.m); n != 0 {
		t.Fatalf("cache holds %d keys after Purge", n)
	}
	NewDecrypter(l.lookup, 0).Purge() // no cache: no-op
}

func TestDecrypterNilLookup(t *testing.T) {
	k := testKeys(t)
	compact := []byte(testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`)))
	_, err := NewDecrypter(nil, 4).Decrypt(compact)
	assertOpaque(t, err)
	_, err = Decrypt(compact, nil)
	assertOpaque(t, err)
}

func TestDecrypterConcurrent(t *testing.T) {
	k := testKeys(t)
	l := allKeysLookup(t)
	d := NewDecrypter(l.lookup, 2)
	jwes := [][]byte{
		[]byte(testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`"a"`))),
		[]byte(testEncryptX25519(t, rawX25519(t, k.x25519b), k.x25519b.KID, x25519Opts{}, []byte(`"b"`))),
		[]byte(joseEncrypt(t, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, []byte(`"c"`))),
	}
	want := []string{`"a"`, `"b"`, `"c"`}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				j := (g + i) % len(jwes)
				got, err := d.Decrypt(jwes[j])
				if err != nil || string(got) != want[j] {
					errs <- errors.New("concurrent decrypt mismatch")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// rawX25519 returns the raw X25519 public key of kp.
func rawX25519(tb testing.TB, kp *KeyPair) []byte {
	tb.Helper()
	return x25519PublicFromPEM(tb, kp.PublicKeyPEM)
}

// TestAlgLabel: DecryptAlg and ParseBTEncryptedAlg name the algorithm once the protected header
// passed the allow-list, success or not, and "other" before that.
func TestAlgLabel(t *testing.T) {
	k := testKeys(t)
	d := NewDecrypter(allKeysLookup(t).lookup, 8)
	pub := x25519PublicFromPEM(t, k.x25519.PublicKeyPEM)
	good := testEncryptX25519(t, pub, k.x25519.KID, x25519Opts{enc: "A256GCM"}, []byte(`{"number":"4242424242424242"}`))
	hdr := func(h string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(h)) + ".." + strings.Repeat("A", 16) + ".AA." + strings.Repeat("A", 22)
	}
	for _, c := range []struct {
		compact, alg string
		ok           bool
	}{
		{good, AlgECDHES, true},
		{hdr(`{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"nope"}`), AlgRSAOAEP256, false},
		{hdr(`{"alg":"ECDH-ES+A256KW","enc":"A128GCM","kid":"nope"}`), AlgECDHESA256KW, false},
		{hdr(`{"alg":"RSA1_5","enc":"A256GCM","kid":"nope"}`), AlgOther, false},
		{"garbage", AlgOther, false},
	} {
		_, alg, err := d.DecryptAlg([]byte(c.compact))
		if alg != c.alg || (err == nil) != c.ok {
			t.Fatalf("%.40s: alg %q err %v, want %q ok=%v", c.compact, alg, err, c.alg, c.ok)
		}
		one := base64.StdEncoding.EncodeToString([]byte(`{"type":"card","encrypted":"` + c.compact + `"}`))
		many := base64.RawURLEncoding.EncodeToString([]byte(`{"a":{"type":"card","encrypted":"` + c.compact + `"},"b":{"type":"card","encrypted":"` + good + `"}}`))
		for _, h := range []string{one, many} {
			if _, alg, err := d.ParseBTEncryptedAlg([]byte(h)); alg != c.alg || (err == nil) != c.ok {
				t.Fatalf("BT-ENCRYPTED with %.40s: alg %q err %v, want %q", c.compact, alg, err, c.alg)
			}
		}
	}
}
