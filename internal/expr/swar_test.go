package expr

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// indexStrSpecial is indexAny3 with the bytes that matter inside a JSON string.
func indexStrSpecial(s []byte) int { return indexAny3(s, '"', '\\', '{') }

// byteLoopIndex is the reference indexAny3 must agree with.
func byteLoopIndex(b []byte, set string) int {
	for i, c := range b {
		if strings.IndexByte(set, c) >= 0 {
			return i
		}
	}
	return len(b)
}

func TestIndexSpecialEveryPositionAndNeighbour(t *testing.T) {
	// Every byte of the set at every offset of a 0..19-byte run, after bytes one below and one
	// above each (the borrow and carry cases of the word trick), 0x00, 0x7F, 0x80 and 0xFF;
	// a later match must not win.
	for _, c := range []struct {
		name string
		fn   func([]byte) int
		set  string
	}{{"str", indexStrSpecial, "\"\\{"}, {"end", indexEndSpecial, "\"\\}"}} {
		fillers := []byte{0x00, 0xff, 0x80, 0x7f, 'x'}
		for _, s := range []byte(c.set) {
			fillers = append(fillers, s-1, s+1)
		}
		for _, f := range fillers {
			if strings.IndexByte(c.set, f) >= 0 {
				continue
			}
			for n := 0; n < 20; n++ {
				if got := c.fn(bytes.Repeat([]byte{f}, n)); got != n {
					t.Fatalf("%s: filler %#x × %d: got %d, want %d", c.name, f, n, got, n)
				}
				for pos := 0; pos < n; pos++ {
					for _, s := range []byte(c.set) {
						b := bytes.Repeat([]byte{f}, n)
						b[pos] = s
						if n > pos+1 {
							b[n-1] = c.set[0]
						}
						if got := c.fn(b); got != pos {
							t.Fatalf("%s: filler %#x, %q at %d of %d: got %d", c.name, f, s, pos, n, got)
						}
					}
				}
			}
		}
	}
}

func FuzzIndexSpecial(f *testing.F) {
	f.Add([]byte(`{"description":"xxxxxxxxxxxxxxxxxxxxxxxx{{ tok }}"}`))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\\"))
	f.Add([]byte("!!!!!!!!!!!#\"zzz"))
	f.Add([]byte("|||||||||||~}zzz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for off := 0; off < len(b) && off < 9; off++ {
			if got, want := indexStrSpecial(b[off:]), byteLoopIndex(b[off:], "\"\\{"); got != want {
				t.Fatalf("indexStrSpecial(%q) = %d, want %d", b[off:], got, want)
			}
			if got, want := indexEndSpecial(b[off:]), byteLoopIndex(b[off:], "\"\\}"); got != want {
				t.Fatalf("indexEndSpecial(%q) = %d, want %d", b[off:], got, want)
			}
		}
	})
}

// FuzzIndexNonIDAgreesWithTable: the word-at-a-time id scan must stop exactly where the idChar
// loop stops (neighbours of every range edge: '/', ':', '@', '[', '`', '{', '-', '_', 0x7f, 0x80+).
func FuzzIndexNonIDAgreesWithTable(f *testing.F) {
	for _, s := range []string{"", "0b7c1f0e-6b0e-4c65-8d2b-9d0a5b0e2f11 }}", "abc", "AZaz09_-AZaz09_-x", "abcdefgh/", "abcdefg:",
		"@[`{/:", "ABCDEFGH\x7f", "abcdefgh\x80", "\xc1\xdb\xe1\xfa\xb0\xb9\xad\xdf", "_-_-_-_-_-_-_-_-.", "Zz9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		want := 0
		for want < len(s) && idChar[s[want]] {
			want++
		}
		if got := indexNonID(s); got != want {
			t.Fatalf("indexNonID(%q) = %d, want %d", s, got, want)
		}
	})
}

// TestNonIDBytesEveryByteEveryLane: each of the 256 byte values in each lane of a word, beside
// id bytes and beside non-id bytes, gets idChar's answer.
func TestNonIDBytesEveryByteEveryLane(t *testing.T) {
	for _, fill := range []byte{'a', '-', '.', 0xff, 0} {
		for lane := range 8 {
			for c := range 256 {
				w := bytes.Repeat([]byte{fill}, 8)
				w[lane] = byte(c)
				m := nonIDBytes(binary.LittleEndian.Uint64(w))
				for k := range 8 {
					if got := m>>(8*k+7)&1 == 1; got != !idChar[w[k]] {
						t.Fatalf("word %q lane %d: non-id %v, idChar %v", w, k, got, idChar[w[k]])
					}
				}
			}
		}
	}
}
