package expr

import (
	"encoding/binary"
	"math/bits"
)

// Word-at-a-time search: eight bytes per step instead of one, for the long runs of plain bytes
// inside JSON strings (most of a typical body) and inside expressions.
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

// indexAny3 returns the index of the first a, b or c in s, or len(s).
func indexAny3(s []byte, a, b, c byte) int {
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if m := bytesEqual(x, a) | bytesEqual(x, b) | bytesEqual(x, c); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if d := s[i]; d == a || d == b || d == c {
			break
		}
	}
	return i
}

// indexStrSpecial returns the index of the first '"', '\\' or '{' in s (what matters inside a
// JSON string and in a Body), or len(s).
func indexStrSpecial(s []byte) int { return indexAny3(s, '"', '\\', '{') }

// indexEndSpecial returns the index of the first '"', '\\' or '}' in s (what can end an
// expression outside Form and Query), or len(s).
func indexEndSpecial(s []byte) int { return indexAny3(s, '"', '\\', '}') }
