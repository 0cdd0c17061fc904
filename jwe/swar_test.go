package jwe

import (
	"bytes"
	"testing"
)

func byteLoopStringSpecial(s []byte) int {
	for i, c := range s {
		if c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return len(s)
}

// TestIndexStringSpecialEveryPosition: each special byte (and each control character) at every
// offset of runs of 0..19 neighbours of the specials, 0x7F-0xFF and base64url, later matches
// planted to tempt a wrong answer.
func TestIndexStringSpecialEveryPosition(t *testing.T) {
	specials := []byte{'"', '\\', 0x00, 0x01, 0x1f}
	fillers := []byte{'"' - 1, '"' + 1, '\\' - 1, '\\' + 1, 0x20, 0x7f, 0x80, 0xa0, 0xff, 'A', '_', '-'}
	for _, f := range fillers {
		for n := 0; n < 20; n++ {
			if got := indexStringSpecial(bytes.Repeat([]byte{f}, n)); got != n {
				t.Fatalf("filler %#x × %d: got %d", f, n, got)
			}
			for pos := 0; pos < n; pos++ {
				for _, c := range specials {
					b := bytes.Repeat([]byte{f}, n)
					b[pos] = c
					if pos+1 < n {
						b[n-1] = 0
					}
					if got := indexStringSpecial(b); got != pos {
						t.Fatalf("filler %#x, %#x at %d of %d: got %d", f, c, pos, n, got)
					}
				}
			}
		}
	}
}

func FuzzIndexStringSpecial(f *testing.F) {
	f.Add([]byte(`eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSJ9"`))
	f.Add([]byte("!!!!!!!!\x1f\\\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		for off := 0; off < len(b) && off < 9; off++ {
			if got, want := indexStringSpecial(b[off:]), byteLoopStringSpecial(b[off:]); got != want {
				t.Fatalf("indexStringSpecial(%q) = %d, want %d", b[off:], got, want)
			}
		}
	})
}
