package jwe

import (
	"encoding/binary"
	"math/bits"
)

// indexStringSpecial returns the index of the first byte of s that a JSON string's scan must
// look at — '"', '\\' or a control character (< 0x20) — or len(s). Eight bytes per step: JWE
// strings are long runs of base64url.
//
// For a word x, (y-ones) &^ y & highs with y = x^pattern flags the bytes equal to the pattern's,
// and (x-0x20*ones) &^ x & highs the bytes below 0x20. Flags above the lowest true one may be
// spurious (a borrow), never below it, so the lowest flag is exact.
func indexStringSpecial(s []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		quote = ones * '"'
		bslsh = ones * '\\'
		ctl   = ones * 0x20
	)
	t := s
	for len(t) >= 8 {
		x := binary.LittleEndian.Uint64(t)
		yq, yb := x^quote, x^bslsh
		if m := ((yq-ones)&^yq | (yb-ones)&^yb | (x-ctl)&^x) & highs; m != 0 {
			return len(s) - len(t) + bits.TrailingZeros64(m)/8
		}
		t = t[8:]
	}
	for i, c := range t {
		if c == '"' || c == '\\' || c < 0x20 {
			return len(s) - len(t) + i
		}
	}
	return len(s)
}
