package expr

import (
	"encoding/binary"
	"math/bits"
)

// Word-at-a-time search: eight bytes per step instead of one, for the long runs of plain bytes
// inside JSON strings (most of a typical body).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// bytesEqual has the high bit of every byte of x that equals c set. Bits above the lowest
// match may be set spuriously (by the borrow out of a matching byte), never below it, so the
// lowest set bit is exact.
func bytesEqual(x uint64, c byte) uint64 {
	y := x ^ (ones * uint64(c))
	return (y - ones) &^ y & highs
}

// indexStrSpecial returns the index of the first '"', '\\' or '{' in b, or len(b).
func indexStrSpecial(b []byte) int {
	i := 0
	for ; len(b)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if m := bytesEqual(x, '"') | bytesEqual(x, '\\') | bytesEqual(x, '{'); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b) && !strSpecial[b[i]]; i++ {
	}
	return i
}
