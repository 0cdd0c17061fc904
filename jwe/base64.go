package jwe

import "encoding/binary"

// b64StdDec and b64URLDec map each byte to its 6-bit value in the standard and the URL-safe
// alphabet, or to all ones for a byte outside it. Shifted left by at most 42 inside an
// eight-byte step, all ones still set bits 48 and above, which no valid step sets: one test of
// the assembled word checks all eight bytes.
var b64StdDec, b64URLDec = b64Table('+', '/'), b64Table('-', '_')

func b64Table(c62, c63 byte) *[256]uint64 {
	var t [256]uint64
	for i := range t {
		t[i] = ^uint64(0)
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for v, c := range []byte(letters) {
		t[c] = uint64(v)
	}
	t[c62], t[c63] = 62, 63
	return &t
}

// b64DecodedLen is the decoded size of n unpadded base64 bytes (n%4 == 1 is invalid anyway).
func b64DecodedLen(n int) int { return n/4*3 + n%4*3/4 }

// decodeB64 decodes unpadded base64 in table t's alphabet into dst, which needs room for
// b64DecodedLen(len(src)) bytes, and returns the decoded length. It is strict: any byte
// outside the alphabet (padding and line breaks included), a length of 4k+1 and non-zero
// bits after the last byte are refused, so that each byte string has one encoding.
//
// Eight bytes become one 64-bit word per step, stored whole while dst has room for all
// eight (its last two bytes are overwritten by the next step); the rest goes four at a time.
func decodeB64(dst, src []byte, t *[256]uint64) (int, bool) {
	n, i := 0, 0
	for ; len(src)-i >= 8 && len(dst)-n >= 8; i, n = i+8, n+6 {
		s := (*[8]byte)(src[i:])
		w := t[s[0]]<<42 | t[s[1]]<<36 | t[s[2]]<<30 | t[s[3]]<<24 |
			t[s[4]]<<18 | t[s[5]]<<12 | t[s[6]]<<6 | t[s[7]]
		if w>>48 != 0 {
			return n, false
		}
		binary.BigEndian.PutUint64(dst[n:], w<<16)
	}
	for ; len(src)-i >= 4; i, n = i+4, n+3 {
		s := (*[4]byte)(src[i:])
		w := t[s[0]]<<18 | t[s[1]]<<12 | t[s[2]]<<6 | t[s[3]]
		if w>>24 != 0 {
			return n, false
		}
		d := (*[3]byte)(dst[n:])
		d[0], d[1], d[2] = byte(w>>16), byte(w>>8), byte(w)
	}
	switch len(src) - i {
	case 1:
		return n, false
	case 2: // one byte; the low four bits must be zero
		w := t[src[i]]<<6 | t[src[i+1]]
		if w>>12 != 0 || w&0x0f != 0 {
			return n, false
		}
		dst[n] = byte(w >> 4)
		n++
	case 3: // two bytes; the low two bits must be zero
		w := t[src[i]]<<12 | t[src[i+1]]<<6 | t[src[i+2]]
		if w>>18 != 0 || w&0x03 != 0 {
			return n, false
		}
		d := (*[2]byte)(dst[n:])
		d[0], d[1] = byte(w>>10), byte(w>>2)
		n += 2
	}
	return n, true
}
