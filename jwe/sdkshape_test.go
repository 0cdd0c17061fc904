package jwe

import (
	"bytes"
	"strings"
	"testing"
)

// sdkHeaderSeeds are headers in and around the SDK shapes.
func sdkHeaderSeeds() []string {
	const x = "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"
	doc := `{"alg":"ECDH-ES","enc":"A256GCM","kid":"%K","epk":{"kty":"OKP","crv":"X25519","x":"%X"}}`
	sorted := `{"alg":"ECDH-ES","enc":"A256GCM","epk":{"crv":"X25519","kty":"OKP","x":"%X"},"kid":"%K"}`
	var out []string
	for _, shape := range []string{doc, sorted} {
		for _, kx := range [][2]string{
			{gateShapeKID, x}, {"k", x}, {"", x}, {`a"b`, x}, {`a\"b`, x}, {"a\\u0041", x}, {"a\x01", x},
			{"\xff\xfe", x}, {`","epk":{"kty":"OKP","crv":"X25519","x":"` + x, x},
			{"k", x[:42]}, {"k", x + "A"}, {"k", x[:41] + `"}`}, {"k", x[:42] + `\`}, {`"},"kid":"k`, x},
			{"k", strings.Repeat(" ", 43)},
		} {
			out = append(out, strings.NewReplacer("%K", kx[0], "%X", kx[1]).Replace(shape))
		}
	}
	return append(out,
		`{"alg":"ECDH-ES","enc":"A256GCM","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"`+x+`"},"kid":"k"}`,
		`{"alg":"ECDH-ES","enc":"A256GCM","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"`+x+`"}} `,
		`{"alg":"ECDH-ES","enc":"A128GCM","kid":"k","epk":{"kty":"OKP","crv":"X25519","x":"`+x+`"}}`,
		`{"alg":"ECDH-ES","enc":"A256GCM","kid":"k","epk":{"kty":"RSA","crv":"X25519","x":"`+x+`"}}`,
		`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"crv":"X25519","kty":"OKP","x":"`+x+`"},"kix":"k"}`,
		`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"crv":"X25519","kty":"OKP","x":"`+x+`"},"kid":"k"`+"}\n",
	)
}

// FuzzSDKHeaderAgreesWithParseHeader: whatever the SDK-shape shortcut accepts, the general
// header parser accepts too and reads the same values from it.
func FuzzSDKHeaderAgreesWithParseHeader(f *testing.F) {
	for _, s := range sdkHeaderSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast header
		if !sdkHeader(in, &fast) {
			return
		}
		slow, ok := parseHeader(in)
		if !ok {
			t.Fatalf("shortcut accepted a header parseHeader refuses: %q", in)
		}
		if !headersEqual(fast, slow) {
			t.Fatalf("shortcut read %+v, parseHeader %+v from %q", fast, slow, in)
		}
		var key [32]byte
		if n, ok := decodeB64(key[:], fast.x, b64URLDec); !fast.xDecoded || !ok || n != 32 || key != fast.xKey {
			t.Fatalf("shortcut kept x %x (%v), decoding it gives %x (%v, %d bytes)", fast.xKey, fast.xDecoded, key, ok, n)
		}
	})
}

func headersEqual(a, b header) bool {
	same := func(p, q []byte) bool { return bytes.Equal(p, q) && (p == nil) == (q == nil) }
	return same(a.alg, b.alg) && same(a.enc, b.enc) && same(a.kid, b.kid) && a.hasEPK == b.hasEPK &&
		same(a.kty, b.kty) && same(a.crv, b.crv) && same(a.x, b.x) && same(a.y, b.y) && a.hasY == b.hasY &&
		same(a.apu, b.apu) && same(a.apv, b.apv)
}

// TestSDKHeaderShortcutTakesTheSDKsHeaders: the headers the SDKs and the gate send are read
// by the shortcut (a change that made it miss them would only show as lost instructions).
func TestSDKHeaderShortcutTakesTheSDKsHeaders(t *testing.T) {
	k := testKeys(t)
	for _, tt := range []struct {
		name, compact string
		want          bool
	}{
		{"SDK order", testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, benchCard), true},
		{"sorted (encoding/json)", sdkShapeJWE(t, gateKey(t), benchCard), true},
		{"with apu", testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{apu: []byte("a")}, benchCard), false},
		{"A128GCM", testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{enc: "A128GCM"}, benchCard), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j, ok := splitCompact([]byte(tt.compact))
			if !ok || !j.decodeParts() {
				t.Fatal("test JWE does not split and decode")
			}
			var h header
			if ok := sdkHeader(j.dec[partHeader], &h); ok != tt.want {
				t.Fatalf("shortcut took %s: %v, want %v", j.dec[partHeader], ok, tt.want)
			}
		})
	}
}

// FuzzSDKBTTokenAgreesWithBTEntries: whatever the single-form shortcut accepts, btEntries reads
// as the same single token — unless the JWE holds a byte that decrypt refuses before it reads
// the header (anything but base64url and four dots), which the shortcut leaves to decrypt.
func FuzzSDKBTTokenAgreesWithBTEntries(f *testing.F) {
	const jwe = "eyJhbGciOiJFQ0RILUVTIn0..c2x1aWNlLWdvbGQh.VO2Pn7Pa.wtC5amVyvF5iQvr7_MpfJw"
	for _, s := range []string{
		`{"type":"card_number","encrypted":"` + jwe + `"}`,
		`{"type":"","encrypted":""}`,
		`{"type":"a\"b","encrypted":"` + jwe + `"}`,
		`{"type":"a\\","encrypted":"` + jwe + `"}`,
		`{"type":"a` + "\x01" + `","encrypted":"` + jwe + `"}`,
		`{"type":"\xff","encrypted":"` + jwe + `"}`,
		`{"type":"card","encrypted":"` + jwe + `","type":"bank"}`,
		`{"type":"card","encrypted":"` + jwe + `","encrypted":"` + jwe + `"}`,
		`{"type":"card","encrypted":"a\u002eb"}`,
		`{"type":"card","encrypted":"` + jwe + `"},"x":{"y":"z"}`,
		`{"type":"card","encrypted":"` + jwe + `"} `,
		`{"type":"card","encrypted":"` + jwe + "\x00\"}",
		`{"type":"card","encrypted":"` + jwe,
		`{"type":"card_number","encrypted":"`,
		`{"type":"card_number","encrypted"}`,
		`{"type":"x","encrypted":"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		typ, jweSpan, ok := sdkBTToken(in)
		if !ok {
			return
		}
		if !base64URLAndDots(in[jweSpan.start:jweSpan.end]) {
			if j, ok := splitCompact(in[jweSpan.start:jweSpan.end]); ok && j.decodeParts() {
				t.Fatalf("shortcut left a JWE with a stray byte that decrypt does not refuse: %q", in)
			}
			return
		}
		entries, single, ok := btEntries(in)
		if !ok || !single || len(entries) != 1 || entries[0].typ != typ || entries[0].jwe != jweSpan {
			t.Fatalf("shortcut read type %v and JWE %v, btEntries %v %v %v from %q", typ, jweSpan, entries, single, ok, in)
		}
	})
}

func base64URLAndDots(b []byte) bool {
	for _, c := range b {
		if c != '.' && b64URLDec[0][c] == ^uint32(0) {
			return false
		}
	}
	return true
}

// TestSDKBTTokenShortcutTakesTheSDKsValues: the single-form value the SDKs and the gate send
// is read by the shortcut.
func TestSDKBTTokenShortcutTakesTheSDKsValues(t *testing.T) {
	v := sdkShapeBTEncrypted(t, gateKey(t), "card_number", []byte(`"4242424242424242"`))
	raw, ok := decodeAnyBase64([]byte(v))
	if !ok {
		t.Fatal("test value does not decode")
	}
	if _, _, ok := sdkBTToken(raw); !ok {
		t.Fatalf("shortcut did not take %s", raw)
	}
}

// FuzzDecodeHeaderAgreesWithDecodeB64: copying the start of an SDK header instead of decoding
// it gives the bytes and the verdict of decoding it all, and writes nothing past the decoded size.
func FuzzDecodeHeaderAgreesWithDecodeB64(f *testing.F) {
	for _, s := range sdkHeaderSeeds() {
		e := b64.EncodeToString([]byte(s))
		f.Add([]byte(e))
		f.Add([]byte(e[:len(e)-1]))
		f.Add([]byte(e + "A"))
		f.Add([]byte(e[:len(e)-1] + "_"))
		f.Add([]byte(e[:96] + "*" + e[97:]))
		f.Add([]byte(e[:51] + "j" + e[52:]))
		f.Add([]byte(e[:95] + "j" + e[96:]))
		f.Add([]byte(e[:52] + "=" + e[53:]))
	}
	for _, s := range sdkHeaderStarts {
		f.Add([]byte(s.enc))
		f.Add([]byte(s.enc[:len(s.enc)-1]))
		f.Add([]byte(s.enc + "Q"))
		f.Add([]byte(s.enc + "QR"))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		size := b64DecodedLen(len(src))
		want := make([]byte, size)
		wn, wok := decodeB64(want, src, b64URLDec)
		guard := bytes.Repeat([]byte{0xa5}, size+8)
		n, ok := decodeHeader(guard[:size], src)
		if ok != wok || ok && !bytes.Equal(guard[:n], want[:wn]) {
			t.Fatalf("%q: decodeHeader %v %q, decodeB64 %v %q", src, ok, guard[:n], wok, want[:wn])
		}
		if !bytes.Equal(guard[size:], bytes.Repeat([]byte{0xa5}, 8)) {
			t.Fatalf("%q: wrote past the decoded size", src)
		}
	})
}

// TestDecodeHeaderCopiesTheSDKsHeaderStarts: both SDK header shapes start with a copied run.
func TestDecodeHeaderCopiesTheSDKsHeaderStarts(t *testing.T) {
	for i, s := range sdkHeaderStarts {
		if len(s.dec) < 39 || len(s.enc) != len(s.dec)/3*4 || !strings.HasPrefix(sdkHeaderShapes[i].before, s.dec) {
			t.Errorf("shape %d starts with %q (%q)", i, s.dec, s.enc)
		}
	}
	hdr := strings.SplitN(sdkShapeJWE(t, gateKey(t), benchCard), ".", 2)[0]
	if !strings.HasPrefix(hdr, sdkHeaderStarts[1].enc) {
		t.Fatalf("the sorted header %s does not start with %s", hdr, sdkHeaderStarts[1].enc)
	}
}

// TestParseBTEncryptedSDKShapeAllocs keeps the gate's BT-ENCRYPTED value to its allocations:
// the decoded value, the output and a cached X25519 decryption's (maxX25519Allocs).
func TestParseBTEncryptedSDKShapeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	kp := gateKey(t)
	v := []byte(sdkShapeBTEncrypted(t, kp, "card_number", []byte(`"4242424242424242"`)))
	d := NewDecrypter(newLookup(kp).lookup, 8)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.ParseBTEncrypted(v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2+maxX25519Allocs {
		t.Fatalf("SDK-shaped BT-ENCRYPTED: %v allocs, budget %d", allocs, 2+maxX25519Allocs)
	}
}
