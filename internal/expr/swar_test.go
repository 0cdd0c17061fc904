package expr

import (
	"bytes"
	"testing"
)

// byteLoopIndex is the reference indexStrSpecial must agree with.
func byteLoopIndex(b []byte) int {
	for i, c := range b {
		if strSpecial[c] {
			return i
		}
	}
	return len(b)
}

func TestIndexStrSpecialEveryPositionAndNeighbour(t *testing.T) {
	// Every special byte at every offset of a 0..19-byte run, after bytes one below and one
	// above each special (the borrow and carry cases of the word trick), and 0x00/0xFF.
	fillers := []byte{0x00, 0xff, '"' - 1, '"' + 1, '\\' - 1, '\\' + 1, '{' - 1, '{' + 1, 'x', 0x80, 0x7f}
	for _, f := range fillers {
		for n := 0; n < 20; n++ {
			b := bytes.Repeat([]byte{f}, n)
			if got := indexStrSpecial(b); got != n {
				t.Fatalf("filler %#x × %d: got %d, want %d", f, n, got, n)
			}
			for pos := 0; pos < n; pos++ {
				for _, c := range []byte{'"', '\\', '{'} {
					b := bytes.Repeat([]byte{f}, n)
					b[pos] = c
					if n > pos+1 {
						b[n-1] = '"' // a later match must not win
					}
					if got := indexStrSpecial(b); got != pos {
						t.Fatalf("filler %#x, %q at %d of %d: got %d", f, c, pos, n, got)
					}
				}
			}
		}
	}
}

func FuzzIndexStrSpecial(f *testing.F) {
	f.Add([]byte(`{"description":"xxxxxxxxxxxxxxxxxxxxxxxx{{ tok }}"}`))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\\"))
	f.Add([]byte("!!!!!!!!!!!#\"zzz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for off := 0; off < len(b) && off < 9; off++ {
			if got, want := indexStrSpecial(b[off:]), byteLoopIndex(b[off:]); got != want {
				t.Fatalf("indexStrSpecial(%q) = %d, want %d", b[off:], got, want)
			}
		}
	})
}
