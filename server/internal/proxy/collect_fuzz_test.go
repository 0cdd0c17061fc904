package proxy

import (
	"bytes"
	"testing"
)

// FuzzCollectedIndexAgreesWithLinearSearch: collectedIndex, which compares an id's first eight
// bytes as a word before its bytes, finds what a search comparing every collected id byte for
// byte finds, for ids of any length that share prefixes of any length.
func FuzzCollectedIndexAgreesWithLinearSearch(f *testing.F) {
	f.Add([]byte("0b6f1a2c-1111-4c3e-9d2a-7f3e5b6a1c01,0b6f1a2c-1111-4c3e-9d2a-7f3e5b6a1c02,0b6f1a2c-1111-4c3e-9d2a-7f3e5b6a1c01"), uint8(0))
	f.Add([]byte("a,ab,a,abcdefgh,abcdefghi,abcdefgh,,abcdefg\x00,abcdefg"), uint8(2))
	f.Add([]byte("12345678,12345678x,12345678,x12345678"), uint8(1))
	f.Fuzz(func(t *testing.T, list []byte, before uint8) {
		x := &exchange{}
		for range before % 4 { // ids of earlier scans shift the positions
			x.env.ids = append(x.env.ids, "earlier")
		}
		var seen [][]byte
		for _, id := range bytes.Split(list, []byte(",")) {
			want := -1
			for j, s := range seen {
				if bytes.Equal(s, id) {
					want = len(x.env.ids) + j
					break
				}
			}
			if got := x.collectedIndex(id); got != want {
				t.Fatalf("collectedIndex(%q) = %d, want %d (collected %q)", id, got, want, seen)
			}
			if want < 0 {
				seen = append(seen, id)
				x.idBuf = append(x.idBuf, id...)
				x.idEnds = append(x.idEnds, len(x.idBuf))
				x.idHeads = append(x.idHeads, idHead(id))
			}
		}
	})
}
