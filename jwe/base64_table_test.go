package jwe

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// checkDecodeB64AgreesWithStdlib decodes src with decodeB64 in both alphabets, into a buffer of
// exactly the decoded size (so that no step writes past it), and compares with encoding/base64's
// strict raw decoders: same acceptance, same bytes.
func checkDecodeB64AgreesWithStdlib(t *testing.T, src []byte) {
	t.Helper()
	for _, c := range []struct {
		name string
		t    *b64Dec
		enc  *base64.Encoding
	}{
		{"std", b64StdDec, base64.RawStdEncoding.Strict()},
		{"url", b64URLDec, base64.RawURLEncoding.Strict()},
	} {
		// encoding/base64 skips '\r' and '\n'; decodeB64 refuses them.
		wantOK := !bytes.ContainsAny(src, "\r\n")
		want := make([]byte, c.enc.DecodedLen(len(src)))
		n, err := c.enc.Decode(want, src)
		wantOK = wantOK && err == nil
		want = want[:n]

		guard := make([]byte, b64DecodedLen(len(src))+8)
		for i := range guard {
			guard[i] = 0xa5
		}
		dst := guard[:b64DecodedLen(len(src))]
		got, ok := decodeB64(dst, src, c.t)
		if ok != wantOK {
			t.Fatalf("%s %q: accepted %v, encoding/base64 %v (%v)", c.name, src, ok, wantOK, err)
		}
		if ok && !bytes.Equal(dst[:got], want) {
			t.Fatalf("%s %q: decoded %x, want %x", c.name, src, dst[:got], want)
		}
		for i, b := range guard[len(dst):] {
			if b != 0xa5 {
				t.Fatalf("%s %q: wrote byte %d past the decoded size", c.name, src, i)
			}
		}
	}
}

// TestDecodeB64AgreesWithStdlib covers every length up to a few eight-byte steps, both
// alphabets, non-zero trailing bits (a second encoding of the same bytes), padding, line
// breaks and every byte value in every position of a step.
func TestDecodeB64AgreesWithStdlib(t *testing.T) {
	data := []byte("\xfb\xff\xbe\x00\x10\x83any carnal pleasure.\xfa\x7f")
	for n := 0; n <= len(data); n++ {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			s := []byte(enc.EncodeToString(data[:n]))
			t.Run(string(s), func(t *testing.T) {
				checkDecodeB64AgreesWithStdlib(t, s)
				if len(s) > 0 {
					checkDecodeB64AgreesWithStdlib(t, s[:len(s)-1]) // 4k+1 and odd tails
					last := append([]byte(nil), s...)
					last[len(last)-1]++ // trailing bits set, or another letter
					checkDecodeB64AgreesWithStdlib(t, last)
				}
			})
		}
	}
	t.Run("every byte in every position", func(t *testing.T) {
		base := []byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY") // 32: a two-word step, a one-word step, two groups
		for i := range base {
			for c := 0; c < 256; c++ {
				s := append([]byte(nil), base...)
				s[i] = byte(c)
				checkDecodeB64AgreesWithStdlib(t, s)
				checkDecodeB64AgreesWithStdlib(t, s[:i+1])
			}
		}
	})
	for _, s := range []string{"QQ==", "QUI=", "QQ=A", "Q\nUJD", "QUJD\r\n"} {
		checkDecodeB64AgreesWithStdlib(t, []byte(s))
	}
}

// FuzzDecodeB64AgreesWithStdlib: the table decoder accepts and produces exactly what the
// strict standard decoders do, in both alphabets, and never writes past the decoded size.
func FuzzDecodeB64AgreesWithStdlib(f *testing.F) {
	for _, s := range []string{"", "QQ", "QR", "QUI", "QUJ", "QUJD", "QUJDREVGRw", "ab+/cd-_", "QUJD\nREVG", "QQ==", "____----++++////"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkDecodeB64AgreesWithStdlib(t, src)
	})
}
