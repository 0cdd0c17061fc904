package journal

import (
	"strings"
	"testing"
)

func plainASCIIByteLoop(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzPlainASCIIAgreesWithByteLoop: the word-at-a-time check must accept exactly the strings
// a byte loop accepts — a NUL or a high byte anywhere (first, last, after a borrow) refuses.
func FuzzPlainASCIIAgreesWithByteLoop(f *testing.F) {
	for _, s := range []string{"", "a", "card_number", strings.Repeat("x", 64), "0123456\x00", "\x00abcdefgh",
		"abcdefg\x80", "ab\x00\x01cdefghij", "é", "abcdefgh\xffi", "\x01\x01\x01\x01\x01\x01\x01\x01\x7f", "\x00\xff\x00\xff\x00\xff\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := PlainASCII(s), plainASCIIByteLoop(s); got != want {
			t.Fatalf("PlainASCII(%q) = %v, byte loop %v", s, got, want)
		}
	})
}
