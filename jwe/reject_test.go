package jwe

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// Every test here is named after an attack. Each asserts the single opaque
// ErrDecrypt; several also assert that the key lookup was never reached,
// i.e. the refusal happened on the allow-list before any key was touched.

func mustReject(t *testing.T, compact string, l *countingLookup) {
	t.Helper()
	out, err := Decrypt([]byte(compact), l.lookup)
	assertOpaque(t, err)
	if out != nil {
		t.Fatalf("plaintext returned with the error: %q", out)
	}
	_, err = NewDecrypter(l.lookup, 4).Decrypt([]byte(compact))
	assertOpaque(t, err)
}

func mustRejectBeforeLookup(t *testing.T, compact string) {
	t.Helper()
	l := allKeysLookup(t)
	mustReject(t, compact, l)
	if n := l.calls.Load(); n != 0 {
		t.Fatalf("key lookup reached %d times; want refusal before any key is touched", n)
	}
}

// fakeTail is a syntactically valid encrypted-key/IV/ciphertext/tag tail.
const fakeTail = "..AAAAAAAAAAAAAAAA.eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"

func TestRejectAlgNone(t *testing.T) {
	for _, hdr := range []string{
		`{"alg":"none","enc":"A256GCM","kid":"x25519-key"}`,
		`{"alg":"none","kid":"x25519-key"}`,
		`{"alg":"None","enc":"A256GCM","kid":"x25519-key"}`,
		`{"alg":"NONE","enc":"A256GCM","kid":"x25519-key"}`,
		`{"alg":"","enc":"A256GCM","kid":"x25519-key"}`,
		`{"alg":null,"enc":"A256GCM","kid":"x25519-key"}`,
		`{"alg":0,"enc":"A256GCM","kid":"x25519-key"}`,
		`{"enc":"A256GCM","kid":"x25519-key"}`,
	} {
		t.Run(hdr, func(t *testing.T) {
			mustRejectBeforeLookup(t, b64.EncodeToString([]byte(hdr))+fakeTail)
		})
	}
	t.Run("unsecured JWS shape", func(t *testing.T) {
		mustRejectBeforeLookup(t, b64.EncodeToString([]byte(`{"alg":"none"}`))+".eyJhIjoxfQ.")
	})
}

func TestRejectPBES2(t *testing.T) {
	// A huge p2c would cost the server minutes of PBKDF2 if PBES2 were tried.
	for _, alg := range []string{"PBES2-HS256+A128KW", "PBES2-HS384+A192KW", "PBES2-HS512+A256KW"} {
		t.Run(alg, func(t *testing.T) {
			hdr := `{"alg":"` + alg + `","enc":"A256GCM","kid":"x25519-key","p2s":"c2FsdHNhbHQ","p2c":2000000000}`
			mustRejectBeforeLookup(t, b64.EncodeToString([]byte(hdr))+".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAA.eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA")
		})
	}
}

func TestRejectDir(t *testing.T) {
	// "dir" would use the stored private key bytes as the content key.
	k := testKeys(t)
	cek := k.x25519.Private[len(k.x25519.Private)-32:]
	compact := sealCompact(t, `{"alg":"dir","enc":"A256GCM","kid":"x25519-key"}`, nil, cek, []byte(`{"a":1}`))
	mustRejectBeforeLookup(t, compact)
}

func TestRejectRSA1_5(t *testing.T) {
	// A well-formed RSA1_5 JWE to our real RSA key (Bleichenbacher padding oracle).
	k := testKeys(t)
	compact := joseEncrypt(t, k.rsa, jose.RSA1_5, jose.A256GCM, nil, []byte(`{"a":1}`))
	mustRejectBeforeLookup(t, compact)
}

func TestRejectUnsupportedEnc(t *testing.T) {
	k := testKeys(t)
	for _, enc := range []jose.ContentEncryption{jose.A128CBC_HS256, jose.A256CBC_HS512, jose.A192GCM} {
		t.Run(string(enc), func(t *testing.T) {
			mustRejectBeforeLookup(t, joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, enc, nil, []byte(`{"a":1}`)))
		})
	}
	t.Run("RSA-OAEP with SHA-1", func(t *testing.T) {
		mustRejectBeforeLookup(t, joseEncrypt(t, k.rsa, jose.RSA_OAEP, jose.A256GCM, nil, []byte(`{"a":1}`)))
	})
	t.Run("ECDH-ES+A128KW", func(t *testing.T) {
		mustRejectBeforeLookup(t, joseEncrypt(t, k.p256, jose.ECDH_ES_A128KW, jose.A256GCM, nil, []byte(`{"a":1}`)))
	})
}

func deflate(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestRejectZip(t *testing.T) {
	// Compression before encryption leaks plaintext through length (CRIME) and
	// invites decompression bombs. These JWEs are otherwise perfectly valid.
	k := testKeys(t)
	data := []byte(`{"number":"4242424242424242"}`)
	for _, zip := range []string{`"DEF"`, `""`, `null`, `"def"`} {
		t.Run("X25519 zip "+zip, func(t *testing.T) {
			compact := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID,
				x25519Opts{extra: `,"zip":` + zip}, deflate(t, data))
			mustRejectBeforeLookup(t, compact)
		})
	}
	t.Run("RSA via go-jose DEFLATE", func(t *testing.T) {
		compact := joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, jose.A256GCM,
			&jose.EncrypterOptions{Compression: jose.DEFLATE}, data)
		mustRejectBeforeLookup(t, compact)
	})
	t.Run("zip hidden behind an escaped member name", func(t *testing.T) {
		compact := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID,
			x25519Opts{extra: `,"\u007aip":"DEF"`}, deflate(t, data))
		mustRejectBeforeLookup(t, compact)
	})
}

func TestRejectCrit(t *testing.T) {
	k := testKeys(t)
	compact := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID,
		x25519Opts{extra: `,"crit":["exp"],"exp":1`}, []byte(`1`))
	mustRejectBeforeLookup(t, compact)
}

func TestRejectDuplicateHeaderMembers(t *testing.T) {
	// Parser differentials: one JSON parser takes the first duplicate, another
	// the last. Correctly sealed, so only the duplicate is wrong.
	k := testKeys(t)
	for _, extra := range []string{
		`,"kid":"x25519-other"`,
		`,"enc":"A128GCM"`,
		`,"alg":"ECDH-ES"`,
		`,"epk":{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
	} {
		t.Run(extra, func(t *testing.T) {
			compact := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{extra: extra}, []byte(`1`))
			mustRejectBeforeLookup(t, compact)
		})
	}
}

func TestRejectUnknownKid(t *testing.T) {
	k := testKeys(t)
	l := allKeysLookup(t)
	compact := testEncryptX25519(t, rawX25519(t, k.x25519), "no-such-key", x25519Opts{}, []byte(`1`))
	mustReject(t, compact, l)
	if l.calls.Load() == 0 {
		t.Fatal("lookup never asked for the kid")
	}
}

func TestRejectExpiredKey(t *testing.T) {
	k := testKeys(t)
	expired := func(kid string) (string, []byte, error) {
		// The vault still has the key but refuses it: expired or deleted.
		return k.x25519.Alg, k.x25519.Private, errors.New("key expired at 2020-01-01")
	}
	compact := []byte(testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`)))
	_, err := Decrypt(compact, expired)
	assertOpaque(t, err)
	_, err = NewDecrypter(expired, 4).Decrypt(compact)
	assertOpaque(t, err)
	if strings.Contains(err.Error(), "expired") {
		t.Fatal("lookup error leaked into the message")
	}
}

func flipChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestRejectTagMismatch(t *testing.T) {
	k := testKeys(t)
	data := []byte(`{"number":"4242424242424242"}`)
	jwes := map[string]string{
		"X25519":       testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, data),
		"P-256 A256KW": joseEncrypt(t, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, data),
		"P-256 direct": joseEncrypt(t, k.p256, jose.ECDH_ES, jose.A128GCM, nil, data),
		"RSA-OAEP-256": joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, jose.A256GCM, nil, data),
	}
	for name, compact := range jwes {
		parts := strings.Split(compact, ".")
		offset := func(part int) int { // index of the first char of a part
			n := 0
			for _, p := range parts[:part] {
				n += len(p) + 1
			}
			return n
		}
		cases := map[string]string{
			"tag":           flipChar(compact, offset(partTag)),
			"ciphertext":    flipChar(compact, offset(partCiphertext)),
			"iv":            flipChar(compact, offset(partIV)),
			"truncated tag": compact[:len(compact)-1],
			// Same header semantics, different bytes: the AAD is the encoded header.
			"header re-encoded": withHeader(compact, " "+mustB64Decode(t, parts[0])),
		}
		if parts[partKey] != "" {
			cases["encrypted key"] = flipChar(compact, offset(partKey))
		}
		for what, bad := range cases {
			t.Run(name+"/"+what, func(t *testing.T) {
				if _, err := Decrypt([]byte(compact), allKeysLookup(t).lookup); err != nil {
					t.Fatalf("untampered JWE fails: %v", err)
				}
				mustReject(t, bad, allKeysLookup(t))
			})
		}
	}
	t.Run("X25519 encrypted to another key", func(t *testing.T) {
		compact := testEncryptX25519(t, rawX25519(t, k.x25519b), k.x25519.KID, x25519Opts{}, data)
		mustReject(t, compact, allKeysLookup(t))
	})
	t.Run("X25519 KDF without apu that the header names", func(t *testing.T) {
		// Header says apu "Alice" but the content key was derived without it.
		good := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, data)
		bad := rewriteHeader(t, good, func(m map[string]any) { m["apu"] = b64.EncodeToString([]byte("Alice")) })
		mustReject(t, bad, allKeysLookup(t))
	})
}

func mustB64Decode(t *testing.T, s string) string {
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// p256 header edit: replace epk x/y.
func setEPK(x, y string) func(map[string]any) {
	return func(m map[string]any) {
		epk := m["epk"].(map[string]any)
		epk["x"], epk["y"] = x, y
	}
}

func TestRejectOffCurveEPK(t *testing.T) {
	// Invalid-curve attack: an epk off P-256 makes ECDH leak the private key
	// modulo small primes. The point is checked before go-jose is called.
	k := testKeys(t)
	good := joseEncrypt(t, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, []byte(`1`))
	hdr, _ := parseHeader([]byte(mustB64Decode(t, strings.SplitN(good, ".", 2)[0])))
	if !validP256Point(hdr.x, hdr.y) {
		t.Fatal("go-jose's own epk is judged off-curve")
	}
	y := []byte(mustB64Decode(t, string(hdr.y)))
	y[31] ^= 1
	offY := b64.EncodeToString(y)
	zero := b64.EncodeToString(make([]byte, 32))
	pBytes, _ := hex.DecodeString("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")
	p := b64.EncodeToString(pBytes)
	tests := []struct{ name, x, y string }{
		{name: "y off by one bit", x: string(hdr.x), y: offY},
		{name: "point at infinity as zeros", x: zero, y: zero},
		{name: "coordinates equal to p", x: p, y: p},
		{name: "short x", x: string(hdr.x[:42]), y: string(hdr.y)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if validP256Point([]byte(tt.x), []byte(tt.y)) {
				t.Fatal("validP256Point accepted it")
			}
			mustReject(t, rewriteHeader(t, good, setEPK(tt.x, tt.y)), allKeysLookup(t))
		})
	}
	t.Run("X25519 epk sent to a P-256 key", func(t *testing.T) {
		bad := rewriteHeader(t, good, func(m map[string]any) {
			m["alg"] = "ECDH-ES"
			m["epk"] = map[string]any{"kty": "OKP", "crv": "X25519", "x": zero[:43]}
		})
		mustReject(t, bad, allKeysLookup(t))
	})
}

// lowOrderX25519 are the u-coordinates of the points of order 1, 2, 4 and 8 on
// Curve25519 and its twist, canonical and not, with and without the high bit.
var lowOrderX25519 = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

func TestRejectLowOrderX25519(t *testing.T) {
	// With a low-order epk the shared secret is all zeros whatever our private
	// key is, so an attacker can compute the content key and forge a JWE with
	// a valid tag. It must still be refused.
	zeroZ := make([]byte, 32)
	for _, h := range lowOrderX25519 {
		t.Run(h, func(t *testing.T) {
			x, _ := hex.DecodeString(h)
			hdr := `{"alg":"ECDH-ES","enc":"A256GCM","kid":"x25519-key","epk":{"kty":"OKP","crv":"X25519","x":"` +
				b64.EncodeToString(x) + `"}}`
			forged := sealCompact(t, hdr, nil, refConcatKDF(zeroZ, "A256GCM", nil, nil, 256), []byte(`{"forged":true}`))
			mustReject(t, forged, allKeysLookup(t))
		})
	}
}

func TestRejectManyDots(t *testing.T) {
	for name, s := range map[string]string{
		"100000 dots":              strings.Repeat(".", 100_000),
		"four dots":                "....",
		"six parts":                "eyJhIjoxfQ.a.b.c.d.e",
		"three parts":              "eyJhIjoxfQ.a.b",
		"dots after a valid start": b64.EncodeToString([]byte(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"x25519-key"}`)) + strings.Repeat(".", 50_000),
	} {
		t.Run(name, func(t *testing.T) { mustRejectBeforeLookup(t, s) })
	}
}

func TestRejectOversize(t *testing.T) {
	k := testKeys(t)
	// A genuine JWE just over the limit: refused on size alone.
	data := []byte(`"` + strings.Repeat("a", MaxJWESize*3/4) + `"`)
	big := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, data)
	if len(big) <= MaxJWESize {
		t.Fatalf("test JWE is only %d bytes", len(big))
	}
	mustRejectBeforeLookup(t, big)
	mustRejectBeforeLookup(t, strings.Repeat("A", MaxJWESize+1))
	mustRejectBeforeLookup(t, strings.Repeat("A", 16<<20))
	t.Run("oversize header", func(t *testing.T) {
		hdr := `{"alg":"ECDH-ES","enc":"A256GCM","kid":"x25519-key","pad":"` + strings.Repeat("p", maxHeaderDecoded) + `"}`
		mustRejectBeforeLookup(t, b64.EncodeToString([]byte(hdr))+fakeTail)
	})
	t.Run("empty", func(t *testing.T) { mustRejectBeforeLookup(t, "") })
}

func TestRejectAlgConfusion(t *testing.T) {
	k := testKeys(t)
	x := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`))
	p := joseEncrypt(t, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, []byte(`1`))
	r := joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, jose.A256GCM, nil, []byte(`1`))
	wrongAlg := func(kp *KeyPair, alg string) *countingLookup {
		clone := *kp
		clone.Alg = alg
		return newLookup(&clone)
	}
	tests := []struct {
		name    string
		compact string
		l       *countingLookup
	}{
		{name: "X25519 key stored as RSA", compact: x, l: wrongAlg(k.x25519, AlgRSAOAEP256)},
		{name: "X25519 key stored as P-256", compact: x, l: wrongAlg(k.x25519, AlgECDHESA256KW)},
		{name: "RSA key stored as ECDH-ES", compact: r, l: wrongAlg(k.rsa, AlgECDHES)},
		{name: "P-256 key stored as RSA", compact: p, l: wrongAlg(k.p256, AlgRSAOAEP256)},
		{name: "RSA-OAEP-256 header naming the X25519 key", compact: rewriteHeader(t, r, func(m map[string]any) { m["kid"] = k.x25519.KID }), l: allKeysLookup(t)},
		{name: "ECDH-ES+A256KW header naming the X25519 key", compact: rewriteHeader(t, p, func(m map[string]any) { m["kid"] = k.x25519.KID }), l: allKeysLookup(t)},
		{name: "ECDH-ES header naming the RSA key", compact: rewriteHeader(t, x, func(m map[string]any) { m["kid"] = k.rsa.KID }), l: allKeysLookup(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustReject(t, tt.compact, tt.l) })
	}
}

func TestRejectDirectWithEncryptedKey(t *testing.T) {
	// Direct ECDH-ES has an empty encrypted key; the AAD does not cover that
	// part, so only the explicit check refuses a smuggled one.
	k := testKeys(t)
	good := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`1`))
	parts := strings.Split(good, ".")
	parts[partKey] = "AAAA"
	mustReject(t, strings.Join(parts, "."), allKeysLookup(t))
}

func TestRejectNonJSONPlaintext(t *testing.T) {
	k := testKeys(t)
	for _, pt := range []string{"", "4242 4242", "{", `{"a":1}{"b":2}`, "\x00", "'single'"} {
		t.Run(pt, func(t *testing.T) {
			mustReject(t, testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(pt)), allKeysLookup(t))
		})
	}
	t.Run("RSA", func(t *testing.T) {
		mustReject(t, joseEncrypt(t, k.rsa, jose.RSA_OAEP_256, jose.A256GCM, nil, []byte("4242 4242")), allKeysLookup(t))
	})
}

func TestRejectNonCanonicalBase64(t *testing.T) {
	// encoding/base64 silently skips CR and LF; the JWE must not.
	k := testKeys(t)
	good := testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`{"a":"bcdefghijk"}`))
	parts := strings.Split(good, ".")
	withNL := parts
	withNL[partCiphertext] = parts[partCiphertext][:4] + "\n" + parts[partCiphertext][4:]
	cases := map[string]string{
		"line feed in ciphertext": strings.Join(withNL, "."),
		"padding":                 good + "==",
		"standard alphabet":       strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+",
		"space":                   " " + good,
		"NUL":                     good + "\x00",
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) { mustReject(t, bad, allKeysLookup(t)) })
	}
	t.Run("bad IV length", func(t *testing.T) {
		parts := strings.Split(good, ".")
		parts[partIV] = b64.EncodeToString(make([]byte, 16))
		mustReject(t, strings.Join(parts, "."), allKeysLookup(t))
	})
}
