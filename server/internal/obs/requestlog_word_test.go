package obs

import "testing"

// plainLogBytes is plainLogString a byte at a time, by table.
func plainLogBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainLogByte[s[i]] {
			return false
		}
	}
	return true
}

// TestPlainLogStringFindsEachEscapedByteAtEachPosition: a byte that must be escaped (control,
// quote, backslash, DEL's neighbours above 0x7f) is found wherever it sits in a word or the tail,
// and its plain neighbours (' ', '#', '[', ']', '~', 0x7f) are not mistaken for one.
func TestPlainLogStringFindsEachEscapedByteAtEachPosition(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 19; pos++ {
			b := []byte("0123456789abcdefghi")
			b[pos] = byte(c)
			if got, want := plainLogString(string(b)), plainLogByte[c]; got != want {
				t.Fatalf("byte %#x at %d: plainLogString = %v, want %v", c, pos, got, want)
			}
		}
	}
}

// FuzzPlainLogStringAgreesWithTable: the word-at-a-time check says what the byte table says.
func FuzzPlainLogStringAgreesWithTable(f *testing.F) {
	for _, s := range []string{"", "GET", "01J0ABCDEF-0123456789", "a\"b", "\\", "\x1f\x20\x7f\x80", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := plainLogString(s), plainLogBytes(s); got != want {
			t.Fatalf("plainLogString(%q) = %v, the byte table says %v", s, got, want)
		}
	})
}
