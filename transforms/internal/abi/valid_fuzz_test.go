package abi

import "testing"

// FuzzValidHeaderAgreesWithByteLoop: ValidHeaderValue, eight bytes at a time, and ValidHeaderName,
// by a table, answer as the byte loops of RFC 9110 do, for []byte and string alike (every byte
// value in every lane: TestBadValueBytesEveryByteEveryLane).
func FuzzValidHeaderAgreesWithByteLoop(f *testing.F) {
	for _, s := range []string{"", "application/json", "a\tb", "text/plain; charset=utf-8\x7f", "0123456\x1f89",
		"\x80\xff\x9f\x7e obs-text", "X-Tiny", "bad name", "a\tb\tc\td\te\tf", "!#$%&'*+-.^_`|~09AZaz", "12345678\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		wantValue, wantName := true, len(s) > 0
		for _, c := range s {
			if c < 0x20 && c != '\t' || c == 0x7f {
				wantValue = false
			}
			if !isTchar(c) {
				wantName = false
			}
		}
		if ValidHeaderValue(s) != wantValue || ValidHeaderValue(string(s)) != wantValue {
			t.Fatalf("ValidHeaderValue(%q) != %v", s, wantValue)
		}
		if ValidHeaderName(s) != wantName || ValidHeaderName(string(s)) != wantName {
			t.Fatalf("ValidHeaderName(%q) != %v", s, wantName)
		}
	})
}

// TestBadValueBytesEveryByteEveryLane: each of the 256 byte values in each lane of a word, beside
// allowed and refused bytes, is flagged exactly when a header value may not hold it.
func TestBadValueBytesEveryByteEveryLane(t *testing.T) {
	for _, fill := range []byte{'a', '\t', 0, 0x7f, 0xff} {
		for lane := range 8 {
			for c := range 256 {
				var w [8]byte
				for k := range w {
					w[k] = fill
				}
				w[lane] = byte(c)
				var x uint64
				for k := range w {
					x |= uint64(w[k]) << (8 * k)
				}
				m := badValueBytes(x)
				for k := range 8 {
					bad := w[k] < 0x20 && w[k] != '\t' || w[k] == 0x7f
					if got := m>>(8*k+7)&1 == 1; got != bad {
						t.Fatalf("word %q lane %d: flagged %v, refused %v", w, k, got, bad)
					}
				}
			}
		}
	}
}
