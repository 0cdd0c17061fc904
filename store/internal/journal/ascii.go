package journal

import "math/bits"

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// PlainASCII reports whether every byte of s is in 1..0x7f: valid UTF-8 without a NUL byte,
// and nothing JSON turns into U+FFFD. The ids and names of audit events are such strings; they
// are checked eight bytes at a time (a byte with its high bit set, or a zero byte whose
// subtraction borrows, sets a high bit of (x-lows)|x), the last word overlapping the one
// before, which costs a fraction of utf8.ValidString. A false answer says nothing: the caller
// checks such strings in full.
func PlainASCII(s string) bool {
	if len(s) < 8 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == 0 || c >= 0x80 {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 < len(s); i += 8 {
		if !plainWord(s[i : i+8]) {
			return false
		}
	}
	return plainWord(s[len(s)-8:])
}

// plainWord is PlainASCII for eight bytes (the loads combine into one).
func plainWord(w string) bool {
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	return ((x-lows)|x)&highs == 0
}

// indexJSONEscaped is the index of the first byte of s that appendJSONString escapes ('"',
// '\\', below 0x20), or len(s); eight bytes at a time. With y the word's low seven bits per byte,
// y+0x60 has a byte's high bit set iff the byte is 0x20 or more, and e+0x7f (e = y^c) iff the
// byte is not c; the sums never carry, so each byte's flag is exact, and bytes from 0x80 up
// (copied as they are) are masked out.
func indexJSONEscaped(s string) int {
	const low7 = lows * 0x7f
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		y := x & low7
		q, bs := y^(lows*'"'), y^(lows*'\\')
		m := (^(y + lows*0x60) | ^((q + low7) | q) | ^((bs + low7) | bs)) &^ x & highs
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if jsonEscaped[s[i]] {
			return i
		}
	}
	return len(s)
}
