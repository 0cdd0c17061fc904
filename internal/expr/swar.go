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

// indexJSONEscape returns the index of the first byte of s that appendJSONEscaped cannot copy
// as it is — below 0x20, '"', '\\', 0x7f, or above (non-ASCII, decoded as UTF-8) — or len(s).
// (x+ones)|x flags the bytes from 0x7f up; a carry out of 0xff, like a borrow, can only flag
// bytes above a flagged one, so the lowest flag is exact.
func indexJSONEscape(s []byte) int {
	const (
		quote = ones * '"'
		bslsh = ones * '\\'
		ctl   = ones * 0x20
	)
	t := s
	for len(t) >= 8 {
		x := binary.LittleEndian.Uint64(t)
		yq, yb := x^quote, x^bslsh
		if m := ((yq-ones)&^yq | (yb-ones)&^yb | (x-ctl)&^x | (x + ones) | x) & highs; m != 0 {
			return len(s) - len(t) + bits.TrailingZeros64(m)/8
		}
		t = t[8:]
	}
	for i, c := range t {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return len(s) - len(t) + i
		}
	}
	return len(s)
}

// hasC0 reports whether s holds a byte below 0x20: (x-0x20*ones) &^ x flags a byte only
// when it, or a byte below it, is one.
func hasC0(s []byte) bool {
	const ctl = ones * 0x20
	var m uint64
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		m |= (x - ctl) &^ x
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 {
			return true
		}
	}
	return m&highs != 0
}

// indexNonID returns the index of the first byte of s that idChar does not mark (A-Z a-z 0-9
// _ -), or len(s): a token id is read eight bytes at a time.
func indexNonID(s []byte) int {
	t := s
	for len(t) >= 8 {
		if m := nonIDBytes(binary.LittleEndian.Uint64(t)); m != 0 {
			return len(s) - len(t) + bits.TrailingZeros64(m)/8
		}
		t = t[8:]
	}
	for i, c := range t {
		if !idChar[c] {
			return len(s) - len(t) + i
		}
	}
	return len(s)
}

// nonIDBytes sets the high bit of every byte of x that is not an id byte. With every byte below
// 0x80 (y), b+(0x80-lo) has its high bit set iff b >= lo, b+(0x7f-hi) iff b > hi, and
// e+0x7f iff e != 0; none of the sums carries into the next byte, so each byte's answer is
// exact. b|0x20 lowers exactly the upper-case letters into a-z.
func nonIDBytes(x uint64) uint64 {
	const low7 = ones * 0x7f
	y := x & low7
	l := y | ones*0x20
	letter := (l + ones*(0x80-'a')) &^ (l + ones*(0x7f-'z'))
	digit := (y + ones*(0x80-'0')) &^ (y + ones*(0x7f-'9'))
	dash, under := y^ones*'-', y^ones*'_'
	dash, under = ^((dash + low7) | dash), ^((under + low7) | under)
	return ^((letter | digit | dash | under) &^ x) & highs // a byte of x from 0x80 up is none
}
