package jwe

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// fuzzState is built once per fuzz worker: keys, a caching Decrypter (so the
// RSA key is not re-parsed on every input) and valid seeds.
type fuzzState struct {
	d      *Decrypter
	lookup KeyLookup
	jwes   []string
}

var (
	fuzzOnce sync.Once
	fuzzVal  fuzzState
)

func getFuzzState(tb testing.TB) fuzzState {
	fuzzOnce.Do(func() {
		k := testKeys(tb)
		l := allKeysLookup(tb)
		data := []byte(`{"number":"4242424242424242","cvc":"123"}`)
		fuzzVal = fuzzState{
			d:      NewDecrypter(l.lookup, 8),
			lookup: l.lookup,
			jwes: []string{
				testEncryptX25519(tb, rawX25519(tb, k.x25519), k.x25519.KID, x25519Opts{}, data),
				testEncryptX25519(tb, rawX25519(tb, k.x25519), k.x25519.KID, x25519Opts{enc: "A128GCM", apu: []byte("Alice"), apv: []byte("Bob")}, data),
				joseEncrypt(tb, k.p256, jose.ECDH_ES_A256KW, jose.A256GCM, nil, data),
				joseEncrypt(tb, k.p256, jose.ECDH_ES, jose.A128GCM, nil, data),
				joseEncrypt(tb, k.rsa, jose.RSA_OAEP_256, jose.A256GCM, nil, data),
			},
		}
	})
	return fuzzVal
}

// nastyJWEs are hostile compact inputs shared by the fuzz seeds.
func nastyJWEs(valid string) []string {
	hdr := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	parts := strings.Split(valid, ".")
	return []string{
		"",
		".",
		"....",
		strings.Repeat(".", 100_000),
		strings.Repeat("A", 5000),
		hdr(`{"alg":"none"}`) + "....",
		hdr(`{"alg":"none","enc":"A256GCM","kid":"x25519-key"}`) + fakeTail,
		hdr(`{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","kid":"x25519-key","p2c":2147483647,"p2s":"AA"}`) + fakeTail,
		hdr(`{"alg":"dir","enc":"A256GCM","kid":"x25519-key"}`) + fakeTail,
		hdr(`{"alg":"RSA1_5","enc":"A256GCM","kid":"rsa-key"}`) + fakeTail,
		hdr(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"x25519-key","zip":"DEF"}`) + fakeTail,
		hdr(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"x25519-key","epk":{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`) + fakeTail,
		hdr(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","kid":"p256-key","epk":{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`) + ".AAAA" + fakeTail[1:],
		hdr(`{"alg":"ECDH-ES","alg":"none","enc":"A256GCM","kid":"x25519-key"}`) + fakeTail,
		hdr(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"x25519-key","x":`+strings.Repeat("[", 2000)+`}`) + fakeTail,
		hdr(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"\u0000\ud800"}`) + fakeTail,
		hdr("\xff\xfe{") + fakeTail,
		parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3] + ".",
		parts[0] + "...." + parts[4],
		valid + ".",
		"." + valid,
		strings.ReplaceAll(valid, "-", "+"),
		valid[:len(valid)/2],
	}
}

func FuzzDecrypt(f *testing.F) {
	st := getFuzzState(f)
	for _, j := range st.jwes {
		f.Add([]byte(j))
		for _, n := range nastyJWEs(j) {
			f.Add([]byte(n))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		saved := bytes.Clone(in)
		out, alg, err := st.d.DecryptAlg(in)
		if !bytes.Equal(in, saved) {
			t.Fatal("Decrypt modified its input")
		}
		assertAlgLabel(t, alg)
		if err != nil {
			assertOpaque(t, err)
			if out != nil {
				t.Fatal("output with error")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("accepted non-JSON plaintext %q", out)
		}
	})
}

func FuzzParseBTEncrypted(f *testing.F) {
	st := getFuzzState(f)
	single := `{"type":"card","encrypted":"` + st.jwes[0] + `"}`
	multi := `{"tokenA":{"type":"card","encrypted":"` + st.jwes[0] + `"},"tokenB":{"type":"bank","encrypted":"` + st.jwes[2] + `"}}`
	for _, raw := range []string{
		single, multi,
		`{}`, `[]`, `null`, `"x"`, `{"encrypted":1}`, `{"type":"card"}`,
		`{"type":"card","encrypted":"` + nastyJWEs(st.jwes[0])[3] + `"}`,
		`{"a":{"type":"card","encrypted":"` + st.jwes[0] + `"},"a":{"type":"card","encrypted":"` + st.jwes[0] + `"}}`,
		`{"encrypted":{"type":"card","encrypted":"` + st.jwes[0] + `"}}`,
		`{"type":"\u0000","encrypted":"` + st.jwes[0] + `"}`,
		strings.Repeat("[", 10_000),
	} {
		for _, e := range btEncodings {
			f.Add([]byte(e.enc.EncodeToString([]byte(raw))))
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("===="))
	f.Add([]byte("e30"))      // {}
	f.Add([]byte("e30=\n"))   // line break
	f.Add([]byte("e-3+0"))    // mixed alphabets
	f.Add([]byte(" \t e30 ")) // spaces
	f.Fuzz(func(t *testing.T, in []byte) {
		out, alg, err := st.d.ParseBTEncryptedAlg(in)
		assertAlgLabel(t, alg)
		if err != nil {
			assertOpaque(t, err)
			if out != nil {
				t.Fatal("output with error")
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("result is not a JSON object: %v: %q", err, out)
		}
	})
}

// assertAlgLabel: the metric label is always one of a fixed set, whatever the input.
func assertAlgLabel(t *testing.T, alg string) {
	t.Helper()
	switch alg {
	case AlgECDHES, AlgECDHESA256KW, AlgRSAOAEP256, AlgOther:
	default:
		t.Fatalf("alg label %q is not from the allow-list", alg)
	}
}

// FuzzParseHeader drives the header parser with raw JSON and checks it against
// encoding/json: whatever parseHeader accepts, encoding/json reads the same
// alg, enc and kid from it.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"ECDH-ES","enc":"A256GCM","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"AAAA"}}`,
		`{"alg":"RSA-OAEP-256","enc":"A128GCM","kid":"k","typ":"JWE"}`,
		`{"alg":"a","alg":"b","enc":"e","kid":"k"}`,
		`{"\u0061lg":"a","enc":"e","kid":"k"}`,
		`{"alg":"a\"b","enc":"e","kid":"k"}`,
		`{"alg":"a","enc":"e","kid":"k","x":[{"}":"]"}]}`,
		`{"alg":"a","enc":"e","kid":"k","zip":"DEF"}`,
		`{"alg":"a","enc":"e","kid":"\xff\xfe"}`,
		` {"alg" : "a" , "enc" : "e" , "kid" : "k"} `,
		`{"alg":"a","enc":"e","kid":"k","epk":{"d":"x"}}`,
		strings.Repeat(`{"a":`, 500),
		`{"alg":"a","enc":"e","kid":"k","n":1e999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, ok := parseHeader(in)
		if !ok {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(in, &m); err != nil {
			t.Fatalf("parseHeader accepted what encoding/json refuses: %v", err)
		}
		for name, got := range map[string][]byte{"alg": h.alg, "enc": h.enc, "kid": h.kid} {
			if want := string(m[name]); want != `"`+string(got)+`"` {
				t.Fatalf("%s: parseHeader read %q, encoding/json %s", name, got, want)
			}
		}
		if _, zip := m["zip"]; zip {
			t.Fatal("zip accepted")
		}
		if _, crit := m["crit"]; crit {
			t.Fatal("crit accepted")
		}
	})
}
