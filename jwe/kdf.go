package jwe

import (
	"crypto/sha256"
	"encoding/binary"
)

// concatKDF derives len(dst) bytes of key from the shared secret z with the
// Concat KDF of NIST SP 800-56A as profiled by RFC 7518 §4.6.2: SHA-256,
// OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo, each of the
// first three as a 32-bit big-endian length followed by the bytes, SuppPubInfo =
// keydatalen in bits, SuppPrivInfo empty. dst is overwritten; the internal
// buffer that held z is zeroed before return.
func concatKDF(dst, z, algID, apu, apv []byte) {
	// counter(4) || z || len(4) algID || len(4) apu || len(4) apv || keydatalen(4)
	n := 4 + len(z) + 4 + len(algID) + 4 + len(apu) + 4 + len(apv) + 4
	var stack [256]byte
	var buf []byte
	if n <= len(stack) {
		buf = stack[:n]
	} else {
		buf = make([]byte, n)
	}
	p := buf[4:]
	p = p[copy(p, z):]
	p = putLenPrefixed(p, algID)
	p = putLenPrefixed(p, apu)
	p = putLenPrefixed(p, apv)
	binary.BigEndian.PutUint32(p, uint32(len(dst))*8)

	for counter, off := uint32(1), 0; off < len(dst); counter++ {
		binary.BigEndian.PutUint32(buf[:4], counter)
		sum := sha256.Sum256(buf)
		off += copy(dst[off:], sum[:])
		clear(sum[:])
	}
	clear(buf)
}

func putLenPrefixed(p, b []byte) []byte {
	binary.BigEndian.PutUint32(p, uint32(len(b)))
	p = p[4:]
	return p[copy(p, b):]
}
