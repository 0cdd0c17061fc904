package jwe

import (
	"encoding/base64"
	"testing"
)

// TestDecodeAnyBase64RefusesMixedAlphabetsAndStrayBytes: every byte value in a value of either
// alphabet is accepted exactly when base64 has it; a value mixing '+' or '/' with '-' or '_'
// is refused.
func TestDecodeAnyBase64RefusesMixedAlphabetsAndStrayBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		v := []byte{'Q', 'U', 'J', byte(c)}
		isB64 := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
		if _, ok := decodeAnyBase64(v); ok != isB64 {
			t.Errorf("byte %#x: accepted %v, want %v", c, ok, isB64)
		}
	}
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"ab+/", true}, {"ab-_", true}, {"a+b-", false}, {"a/b_", false}, {"-+//", false}, {"YWJj", true}, {"YQ==", true}, {"YQ=", false},
	} {
		got, ok := decodeAnyBase64([]byte(c.v))
		if ok != c.ok {
			t.Errorf("%q: accepted %v, want %v", c.v, ok, c.ok)
		}
		if ok {
			enc := base64.RawStdEncoding
			if c.v[2] == '-' {
				enc = base64.RawURLEncoding
			}
			want, _ := enc.Strict().DecodeString(string([]byte(c.v)[:len(trimPad(c.v))]))
			if string(got) != string(want) {
				t.Errorf("%q: decoded %x, want %x", c.v, got, want)
			}
		}
	}
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}
