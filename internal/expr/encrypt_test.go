package expr

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
)

// cborReader decodes the one CBOR shape Footprint's ECIES output has: a map
// of text keys to an unsigned integer or arrays of unsigned integers.
type cborReader struct {
	b   []byte
	err bool
}

func (c *cborReader) head() (major byte, n uint64) {
	if len(c.b) == 0 {
		c.err = true
		return 0, 0
	}
	major, info := c.b[0]>>5, c.b[0]&31
	c.b = c.b[1:]
	size := map[byte]int{24: 1, 25: 2, 26: 4, 27: 8}[info]
	if info < 24 {
		return major, uint64(info)
	}
	if size == 0 || len(c.b) < size {
		c.err = true
		return 0, 0
	}
	for _, x := range c.b[:size] {
		n = n<<8 | uint64(x)
	}
	c.b = c.b[size:]
	return major, n
}

// sealed is a decoded ECIES output.
type sealed struct {
	v           uint64
	epk, iv, ct []byte
	keys        []string
}

func decodeSealed(t *testing.T, b []byte) sealed {
	t.Helper()
	c := &cborReader{b: b}
	var s sealed
	major, n := c.head()
	if major != 5 || n != 4 {
		t.Fatalf("not a map of 4: %d %d", major, n)
	}
	for range n {
		major, klen := c.head()
		if major != 3 || uint64(len(c.b)) < klen {
			t.Fatalf("key is not text")
		}
		key := string(c.b[:klen])
		c.b = c.b[klen:]
		s.keys = append(s.keys, key)
		major, m := c.head()
		if key == "v" {
			if major != 0 {
				t.Fatalf("v is not an integer")
			}
			s.v = m
			continue
		}
		if major != 4 {
			t.Fatalf("%s is not an array", key)
		}
		var arr []byte
		for range m {
			major, x := c.head()
			if major != 0 || x > 255 {
				t.Fatalf("%s holds a non-byte", key)
			}
			arr = append(arr, byte(x))
		}
		switch key {
		case "epk":
			s.epk = arr
		case "iv":
			s.iv = arr
		case "c":
			s.ct = arr
		}
	}
	if c.err || len(c.b) != 0 {
		t.Fatalf("malformed CBOR")
	}
	return s
}

// unsealECIES is Footprint's unseal: ECDH with the ephemeral point, the
// X9.63 SHA-256 KDF over the shared x and that point, AES-256-GCM with the
// recipient's uncompressed point as associated data.
func unsealECIES(t *testing.T, priv *ecdh.PrivateKey, s sealed) []byte {
	t.Helper()
	epk, err := ecdh.P256().NewPublicKey(s.epk)
	if err != nil {
		t.Fatal(err)
	}
	z, err := priv.ECDH(epk)
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256(append(append(z, 0, 0, 0, 1), s.epk...))
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, s.iv, s.ct, priv.PublicKey().Bytes())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return plain
}

// footprintSample is the sealed "hello world" and key pair of Footprint's
// own unseal test: the layout this filter must produce.
const (
	footprintSample = "pGF2AWNlcGuYQQQYwRjJGJ4YGxjmAxiBGJcY6hg9GJwY7A4YlhiZGJAYfBiQGNkYIhhxGO0Y9xj4GPIY_xg5Bxh_GPYYvxhwGD0YlxgxABjqABj2GG8RGPoYyxi2GMoGGIcYfRiLGF8GGN4YwhizGDIYyRgxGD8YvRijGDAYRxhnGJFiaXaMGK8Y_BiAFBi0GOUYMhi3GE4YYRigGD9hY5gbGOAYtRiZGIoYJBj6GIIAGIcY2hg_GJwYshjQDBgdGFEYpRiVGJEYgBi6GLMYqhjgGEUC"
	footprintSecret = "fb9bd259890df88650a797e04e812fe5a6c60ce0377f293781ac407e6ffb90b1"
)

// TestEncryptECIESLayoutIsFootprints: the decoder and unseal the round
// trips rely on open Footprint's own sample, so what they open is
// Footprint's format.
func TestEncryptECIESLayoutIsFootprints(t *testing.T) {
	raw, err := base64.RawURLEncoding.DecodeString(footprintSample)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := hex.DecodeString(footprintSecret)
	priv, err := ecdh.P256().NewPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	s := decodeSealed(t, raw)
	if got := string(unsealECIES(t, priv, s)); got != "hello world" {
		t.Fatalf("got %q", got)
	}
	if strings.Join(s.keys, ",") != "v,epk,iv,c" || s.v != 1 {
		t.Fatalf("keys %v, v %d", s.keys, s.v)
	}
}

var testRSA = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func pkixHex(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(der)
}

// TestEncryptRoundTrip: what encrypt renders decrypts, with the private key,
// to the value's text; each rendering is fresh (random padding, key, IV).
func TestEncryptRoundTrip(t *testing.T) {
	rsaKey := testRSA()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := ecKey.ECDH()
	rsaSPKI := pkixHex(t, &rsaKey.PublicKey)
	rsaPKCS1 := hex.EncodeToString(x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey))
	ecSPKI := pkixHex(t, &ecKey.PublicKey)
	values := []string{"4242424242424242", "", "Jöhn \"Doe\"", strings.Repeat("x", 245)}
	exprs := map[string]string{
		"rsa spki":          "{{ x | encrypt('rsa_pkcs1v15', '" + rsaSPKI + "') }}",
		"rsa pkcs1 liquid":  "{{ x | encrypt: 'rsa_pkcs1v15', '" + rsaPKCS1 + "' }}",
		"ecies":             "{{ x | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + ecSPKI + "') }}",
		"ecies upper hex":   "{{ x | encrypt(ecies_p256_x963_sha256_aes_gcm, " + strings.ToUpper(ecSPKI) + ") }}",
		"ecies after slice": "{{ x | prefix(6) | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + ecSPKI + "') }}",
	}
	for name, src := range exprs {
		for _, v := range values {
			env := &testEnv{data: bmap(map[string]string{"x": jsonString(v)})}
			out1, err := render(t, src, Text, env)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out2, _ := render(t, src, Text, env)
			if out1 == out2 {
				t.Fatalf("%s: two encryptions are equal", name)
			}
			ct, err := hex.DecodeString(out1)
			if err != nil || strings.ToLower(out1) != out1 {
				t.Fatalf("%s: not lower-case hex: %q", name, out1)
			}
			want := v
			if strings.Contains(name, "slice") {
				want = string([]rune(v)[:min(6, len([]rune(v)))])
			}
			var plain []byte
			if strings.HasPrefix(name, "rsa") {
				//lint:ignore SA1019 the filter's algorithm
				plain, err = rsa.DecryptPKCS1v15(nil, rsaKey, ct)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			} else {
				plain = unsealECIES(t, ecPriv, decodeSealed(t, ct))
			}
			if string(plain) != want {
				t.Fatalf("%s: decrypted %q, want %q", name, plain, want)
			}
		}
	}
}

// TestEncryptLenient: what encrypt cannot encrypt (not text, longer than the
// key or the limit) is null.
func TestEncryptLenient(t *testing.T) {
	rsaSrc := "{{ x | encrypt('rsa_pkcs1v15', '" + pkixHex(t, &testRSA().PublicKey) + "') }}"
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecSrc := "{{ x | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + pkixHex(t, &ecKey.PublicKey) + "') }}"
	tests := []struct{ name, src, doc string }{
		{"rsa over k-11 bytes", rsaSrc, jsonString(strings.Repeat("x", 246))},
		{"rsa object", rsaSrc, `{"a":1}`},
		{"rsa null", rsaSrc, `null`},
		{"ecies array", ecSrc, `[1]`},
		{"ecies over the limit", ecSrc, jsonString(strings.Repeat("x", maxEncryptLen+1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render(t, tc.src, Text, &testEnv{data: bmap(map[string]string{"x": tc.doc})})
			if err != nil || out != "" {
				t.Fatalf("got %q, %v; want null", out, err)
			}
		})
	}
}

// TestEncryptBadArgumentsRefusedAtParse: a bad algorithm or key is an
// argument error naming the filter, never quoting the key in its detail.
func TestEncryptBadArgumentsRefusedAtParse(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaHex := pkixHex(t, &testRSA().PublicKey)
	ecHex := pkixHex(t, &ecKey.PublicKey)
	tests := []struct{ name, alg, key string }{
		{"unknown algorithm", "rsa_oaep", rsaHex},
		{"footprint's internal misspelling", "rsa_pksc1v15", rsaHex},
		{"odd hex", "rsa_pkcs1v15", rsaHex[1:]},
		{"not hex", "rsa_pkcs1v15", "zz" + rsaHex[2:]},
		{"not DER", "rsa_pkcs1v15", "00112233"},
		{"empty key", "rsa_pkcs1v15", ""},
		{"ec key for rsa", "rsa_pkcs1v15", ecHex},
		{"rsa key for ecies", "ecies_p256_x963_sha256_aes_gcm", rsaHex},
		{"p-384 key for ecies", "ecies_p256_x963_sha256_aes_gcm", pkixHex(t, &p384.PublicKey)},
		{"truncated der", "ecies_p256_x963_sha256_aes_gcm", ecHex[:len(ecHex)-2]},
		{"raw point is not der", "ecies_p256_x963_sha256_aes_gcm", hex.EncodeToString(rawX(t, &ecKey.PublicKey))},
	}
	_ = small // a 1024-bit key is the smallest accepted
	if _, err := Scan([]byte("{{ x | encrypt('rsa_pkcs1v15', '"+pkixHex(t, &small.PublicKey)+"') }}"), Text, nil); err != nil {
		t.Fatalf("1024-bit key: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "{{ x | encrypt('" + tc.alg + "', '" + tc.key + "') }}"
			_, err := Scan([]byte(src), Text, nil)
			var e *Error
			if !errors.Is(err, ErrArgs) || !errors.As(err, &e) {
				t.Fatalf("got %v, want ErrArgs", err)
			}
			if !strings.HasPrefix(e.Detail, "encrypt") {
				t.Fatalf("detail %q does not name the filter", e.Detail)
			}
			if len(tc.key) >= 8 && strings.Contains(e.Detail, tc.key[:8]) {
				t.Fatalf("detail %q quotes the key", e.Detail)
			}
		})
	}
	for _, src := range []string{"{{ x | encrypt('rsa_pkcs1v15') }}", "{{ x | encrypt }}", "{{ x | encrypt: 'rsa_pkcs1v15', config.KEY }}"} {
		if _, err := Scan([]byte(src), Text, nil); !errors.Is(err, ErrArgs) {
			t.Fatalf("%s: got %v, want ErrArgs", src, err)
		}
	}
}

// FuzzEncryptArgs: whatever is written between encrypt's parentheses (or
// after its colon), Scan neither panics nor quotes the arguments in its
// detail; an accepted expression renders to lower-case hex within its bound.
func FuzzEncryptArgs(f *testing.F) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&testRSA().PublicKey)
	ec, rs := hex.EncodeToString(der), hex.EncodeToString(rsaDER)
	for _, s := range []string{
		"('ecies_p256_x963_sha256_aes_gcm', '" + ec + "')", "('rsa_pkcs1v15', '" + rs + "')",
		"(rsa_pkcs1v15, " + rs + ")", ": 'ecies_p256_x963_sha256_aes_gcm', '" + ec + "'",
		"('ecies_p256_x963_sha256_aes_gcm', '" + ec[:len(ec)-4] + "')", "('rsa_pkcs1v15', '" + rs[:100] + "')",
		"('ecies_p256_x963_sha256_aes_gcm', '30')", "('', '')", "()", "(\\'x\\', \\))", ": 1, 2",
		"('rsa_pkcs1v15', '3082')", "('ecies_p256_x963_sha256_aes_gcm', '3059301306072a8648ce3d020106082a8648ce3d03010703420004')",
	} {
		f.Add(s, "4242424242424242")
	}
	f.Fuzz(func(t *testing.T, args, value string) {
		src := []byte("{{ x | encrypt" + args + " }}")
		_, err := Scan(src, Text, nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			if len(args) > 16 && strings.Contains(e.Detail, args) {
				t.Fatalf("detail %q quotes the arguments", e.Detail)
			}
			return
		}
		env := &testEnv{data: bmap(map[string]string{"x": jsonString(value)})}
		r := Acquire()
		defer Release(r)
		out, err := r.Render(nil, src, Text, env)
		if err != nil {
			t.Fatalf("accepted %q but Render: %v", src, err)
		}
		if _, herr := hex.DecodeString(string(out)); herr != nil || strings.ToLower(string(out)) != string(out) {
			t.Fatalf("output not lower-case hex: %q", out)
		}
		if int64(len(out)) > r.expansion {
			t.Fatalf("%d bytes rendered, %d charged", len(out), r.expansion)
		}
	})
}

// TestEncryptCountedAgainstTheReadBudget: each encrypt is charged
// encryptCharge of reading, so an input can hold only so many public-key
// operations, whatever the values.
func TestEncryptCountedAgainstTheReadBudget(t *testing.T) {
	one := "{{ x | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + testECHex + "') }}"
	env := &testEnv{data: bmap(map[string]string{"x": `"4242424242424242"`})}
	limit := DefaultMaxExpansion / encryptCharge
	for _, tc := range []struct {
		n  int
		ok bool
	}{{limit - 1, true}, {limit + 1, false}} {
		r := Acquire()
		_, err := r.Render(nil, []byte(strings.Repeat(one, tc.n)), Text, env)
		Release(r)
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrTooLarge)) {
			t.Fatalf("%d encrypts: %v", tc.n, err)
		}
	}
}

// rawX is the X coordinate of pub's point: a raw point, not DER.
func rawX(t *testing.T, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	b, err := pub.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b[1:33]
}
