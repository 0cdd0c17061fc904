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

// indexAny3 returns the index of the first a, b or c in s, or len(s).
//
// Per word x and byte pattern p (c in every byte), y = x^p has a zero byte where x has c, and
// (y-ones) &^ y & highs has the high bit of that byte set. Bits above the lowest match may be
// set spuriously (by the borrow out of a zero byte), never below it, so the lowest set bit is
// exact.
func indexAny3(s []byte, a, b, c byte) int {
	pa, pb, pc := ones*uint64(a), ones*uint64(b), ones*uint64(c)
	match := func(x uint64) uint64 {
		ya, yb, yc := x^pa, x^pb, x^pc
		return ((ya-ones)&^ya | (yb-ones)&^yb | (yc-ones)&^yc) & highs
	}
	t := s
	for len(t) >= 8 {
		if m := match(binary.LittleEndian.Uint64(t)); m != 0 {
			return len(s) - len(t) + bits.TrailingZeros64(m)/8
		}
		t = t[8:]
	}
	if len(t) == 0 {
		return len(s)
	}
	var w [8]byte // the tail, zero-padded: a match in the padding lands at len(s) or beyond
	copy(w[:], t)
	if m := match(binary.LittleEndian.Uint64(w[:])); m != 0 {
		return min(len(s)-len(t)+bits.TrailingZeros64(m)/8, len(s))
	}
	return len(s)
}

// indexEndSpecial returns the index of the first '"', '\\' or '}' in s (what can end an
// expression outside Form and Query), or len(s).
func indexEndSpecial(s []byte) int { return indexAny3(s, '"', '\\', '}') }
