package jwe

import "encoding/binary"

// b64Dec decodes one base64 alphabet. val is its table: val[k][c] is byte c's 6-bit value
// shifted to its place in a group of four (k = 0 the highest), or all ones for a byte outside
// the alphabet. A group's four entries ORed are its 24 bits, and a byte outside sets bits 24
// and above: one test checks the group. vec is the same alphabet for decodeB64Blocks.
type b64Dec struct {
	val [4][256]uint32
	vec b64Vectors
}

// b64StdDec and b64URLDec decode the standard and the URL-safe alphabet.
var b64StdDec, b64URLDec = b64Table('+', '/'), b64Table('-', '_')

func b64Table(c62, c63 byte) *b64Dec {
	var t b64Dec
	for k := range t.val {
		for c := range t.val[k] {
			t.val[k][c] = ^uint32(0)
		}
	}
	set := func(c byte, v uint32) {
		for k := range t.val {
			t.val[k][c] = v << (18 - 6*k)
		}
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for v, c := range []byte(letters) {
		set(c, uint32(v))
	}
	set(c62, 62)
	set(c63, 63)
	t.vec = newB64Vectors(c62, c63)
	return &t
}

// b64Vectors are the constants of decodeB64Blocks for one alphabet, 32 copies of a byte each
// unless said otherwise; the assembly reads them by these indexes.
type b64Vectors [vecCount][32]byte

const (
	vecUpperBelow, vecUpperAbove = 0, 1 // 'A'-1, 'Z'+1: a byte strictly between is a capital
	vecLowerBelow, vecLowerAbove = 2, 3
	vecDigitBelow, vecDigitAbove = 4, 5
	vec62, vec63                 = 6, 7   // the alphabet's last two characters
	vecUpperAdd, vecLowerAdd     = 8, 9   // what to add to a capital, a small letter, a digit,
	vecDigitAdd, vec62Add        = 10, 11 // the 62nd and 63rd character for its 6-bit value
	vec63Add                     = 12
	vecPairs                     = 13 // 0x40, 0x01: two 6-bit values to 12 bits (VPMADDUBSW)
	vecQuads                     = 14 // words 0x1000, 0x0001: two 12-bit values to 24 (VPMADDWD)
	vecBytes                     = 15 // each lane: 3 bytes of every group of 4, big end first
	vecLanes                     = 16 // dwords 0-2 and 4-6: both lanes' 12 bytes together (VPERMD)
	vecCount                     = 17
)

func newB64Vectors(c62, c63 byte) (v b64Vectors) {
	for i, b := range [...]byte{
		vecUpperBelow: 'A' - 1, vecUpperAbove: 'Z' + 1,
		vecLowerBelow: 'a' - 1, vecLowerAbove: 'z' + 1,
		vecDigitBelow: '0' - 1, vecDigitAbove: '9' + 1,
		vec62: c62, vec63: c63,
		vecUpperAdd: 0 - 'A' + 256, vecLowerAdd: 26 - 'a' + 256, vecDigitAdd: 52 - '0', vec62Add: 62 - c62, vec63Add: 63 - c63,
	} {
		for j := range v[i] {
			v[i][j] = b
		}
	}
	order := [16]byte{2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 0x80, 0x80, 0x80, 0x80}
	for j := 0; j < 32; j += 4 {
		v[vecPairs][j], v[vecPairs][j+1], v[vecPairs][j+2], v[vecPairs][j+3] = 0x40, 0x01, 0x40, 0x01
		v[vecQuads][j], v[vecQuads][j+1], v[vecQuads][j+2], v[vecQuads][j+3] = 0x00, 0x10, 0x01, 0x00
		v[vecBytes][j], v[vecBytes][j+1], v[vecBytes][j+2], v[vecBytes][j+3] = order[j%16], order[j%16+1], order[j%16+2], order[j%16+3]
	}
	for i, d := range [8]byte{0, 1, 2, 4, 5, 6, 7, 7} {
		v[vecLanes][4*i] = d
	}
	return v
}

// b64DecodedLen is the decoded size of n unpadded base64 bytes (n%4 == 1 is invalid anyway).
func b64DecodedLen(n int) int { return n/4*3 + n%4*3/4 }

// decodeB64 decodes unpadded base64 in t's alphabet into dst, which needs room for
// b64DecodedLen(len(src)) bytes, and returns the decoded length. It is strict: any byte
// outside the alphabet (padding and line breaks included), a length of 4k+1 and non-zero
// bits after the last byte are refused, so that each byte string has one encoding.
//
// Two groups of four become one 64-bit word, stored whole while dst has room for all eight
// bytes (its last two are overwritten by the next store); two words per step while there is
// room for both, then one; the rest goes a group at a time.
func decodeB64(dst, src []byte, t *b64Dec) (int, bool) {
	n, i := 0, 0
	// Whole blocks of 32 characters first, where the CPU has AVX2 and dst has room for the
	// 32-byte store of the last; decodeB64Blocks stops before a block with a byte outside the
	// alphabet, which the loops below then find.
	if blocks := min(len(src)/32, (len(dst)-8)/24); useAVX2 && blocks > 0 {
		k := decodeB64Blocks(&dst[0], &src[0], blocks, &t.vec)
		n, i = 24*k, 32*k
	}
	tv := &t.val
	for ; len(src)-i >= 16 && len(dst)-n >= 14; i, n = i+16, n+12 {
		s := (*[16]byte)(src[i:])
		w0 := tv[0][s[0]] | tv[1][s[1]] | tv[2][s[2]] | tv[3][s[3]]
		w1 := tv[0][s[4]] | tv[1][s[5]] | tv[2][s[6]] | tv[3][s[7]]
		w2 := tv[0][s[8]] | tv[1][s[9]] | tv[2][s[10]] | tv[3][s[11]]
		w3 := tv[0][s[12]] | tv[1][s[13]] | tv[2][s[14]] | tv[3][s[15]]
		if (w0|w1|w2|w3)>>24 != 0 {
			return n, false
		}
		d := (*[14]byte)(dst[n:])
		binary.BigEndian.PutUint64(d[:8], uint64(w0)<<40|uint64(w1)<<16)
		binary.BigEndian.PutUint64(d[6:], uint64(w2)<<40|uint64(w3)<<16)
	}
	for ; len(src)-i >= 8 && len(dst)-n >= 8; i, n = i+8, n+6 {
		s := (*[8]byte)(src[i:])
		hi := tv[0][s[0]] | tv[1][s[1]] | tv[2][s[2]] | tv[3][s[3]]
		lo := tv[0][s[4]] | tv[1][s[5]] | tv[2][s[6]] | tv[3][s[7]]
		if (hi|lo)>>24 != 0 {
			return n, false
		}
		binary.BigEndian.PutUint64(dst[n:], uint64(hi)<<40|uint64(lo)<<16)
	}
	for ; len(src)-i >= 4; i, n = i+4, n+3 {
		s := (*[4]byte)(src[i:])
		w := tv[0][s[0]] | tv[1][s[1]] | tv[2][s[2]] | tv[3][s[3]]
		if w>>24 != 0 {
			return n, false
		}
		d := (*[3]byte)(dst[n:])
		d[0], d[1], d[2] = byte(w>>16), byte(w>>8), byte(w)
	}
	switch len(src) - i {
	case 1:
		return n, false
	case 2: // one byte; the low four bits of the second character must be zero
		w := tv[0][src[i]] | tv[1][src[i+1]]
		if w>>24 != 0 || w&0xf000 != 0 {
			return n, false
		}
		dst[n] = byte(w >> 16)
		n++
	case 3: // two bytes; the low two bits of the third character must be zero
		w := tv[0][src[i]] | tv[1][src[i+1]] | tv[2][src[i+2]]
		if w>>24 != 0 || w&0xc0 != 0 {
			return n, false
		}
		d := (*[2]byte)(dst[n:])
		d[0], d[1] = byte(w>>16), byte(w>>8)
		n += 2
	}
	return n, true
}
