package jwe

import "encoding/binary"

// b64Dec is the decoding table of one base64 alphabet: t[k][c] is byte c's 6-bit value shifted
// to its place in a group of four (k = 0 the highest), or all ones for a byte outside the
// alphabet. A group's four entries ORed are its 24 bits, and a byte outside sets bits 24 and
// above: one test checks the group.
type b64Dec [4][256]uint32

// b64StdDec and b64URLDec decode the standard and the URL-safe alphabet.
var b64StdDec, b64URLDec = b64Table('+', '/'), b64Table('-', '_')

func b64Table(c62, c63 byte) *b64Dec {
	var t b64Dec
	for k := range t {
		for c := range t[k] {
			t[k][c] = ^uint32(0)
		}
	}
	set := func(c byte, v uint32) {
		for k := range t {
			t[k][c] = v << (18 - 6*k)
		}
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for v, c := range []byte(letters) {
		set(c, uint32(v))
	}
	set(c62, 62)
	set(c63, 63)
	return &t
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
	for ; len(src)-i >= 16 && len(dst)-n >= 14; i, n = i+16, n+12 {
		s := (*[16]byte)(src[i:])
		w0 := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		w1 := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		w2 := t[0][s[8]] | t[1][s[9]] | t[2][s[10]] | t[3][s[11]]
		w3 := t[0][s[12]] | t[1][s[13]] | t[2][s[14]] | t[3][s[15]]
		if (w0|w1|w2|w3)>>24 != 0 {
			return n, false
		}
		d := (*[14]byte)(dst[n:])
		binary.BigEndian.PutUint64(d[:8], uint64(w0)<<40|uint64(w1)<<16)
		binary.BigEndian.PutUint64(d[6:], uint64(w2)<<40|uint64(w3)<<16)
	}
	for ; len(src)-i >= 8 && len(dst)-n >= 8; i, n = i+8, n+6 {
		s := (*[8]byte)(src[i:])
		hi := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		lo := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		if (hi|lo)>>24 != 0 {
			return n, false
		}
		binary.BigEndian.PutUint64(dst[n:], uint64(hi)<<40|uint64(lo)<<16)
	}
	for ; len(src)-i >= 4; i, n = i+4, n+3 {
		s := (*[4]byte)(src[i:])
		w := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
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
		w := t[0][src[i]] | t[1][src[i+1]]
		if w>>24 != 0 || w&0xf000 != 0 {
			return n, false
		}
		dst[n] = byte(w >> 16)
		n++
	case 3: // two bytes; the low two bits of the third character must be zero
		w := t[0][src[i]] | t[1][src[i+1]] | t[2][src[i+2]]
		if w>>24 != 0 || w&0xc0 != 0 {
			return n, false
		}
		d := (*[2]byte)(dst[n:])
		d[0], d[1] = byte(w>>16), byte(w>>8)
		n += 2
	}
	return n, true
}
