package expr

import (
	"crypto/sha1" //nolint:gosec // HMAC-SHA-1 is offered because Basis Theory's hmac filter offers it.
	"crypto/sha256"
	"crypto/sha512"
)

type hashAlg uint8

const (
	algSHA256 hashAlg = iota + 1
	algSHA1
	algSHA512
)

// parseAlg accepts Basis Theory's names (sha-1, sha-256, sha-512) and the
// same without the dash, in any case.
func parseAlg(b []byte) (hashAlg, bool) {
	b = trimSpace(b)
	switch {
	case equalFold(b, "sha-256"), equalFold(b, "sha256"):
		return algSHA256, true
	case equalFold(b, "sha-1"), equalFold(b, "sha1"):
		return algSHA1, true
	case equalFold(b, "sha-512"), equalFold(b, "sha512"):
		return algSHA512, true
	}
	return 0, false
}

func (a hashAlg) blockSize() int {
	if a == algSHA512 {
		return sha512.BlockSize
	}
	return sha256.BlockSize // sha1.BlockSize is 64 too
}

// sum appends the digest of b to out. The one-shot Sum functions keep the
// state on the stack, so this does not allocate.
func (a hashAlg) sum(out, b []byte) []byte {
	switch a {
	case algSHA1:
		s := sha1.Sum(b) //nolint:gosec // see import
		return append(out, s[:]...)
	case algSHA512:
		s := sha512.Sum512(b)
		return append(out, s[:]...)
	default:
		s := sha256.Sum256(b)
		return append(out, s[:]...)
	}
}

// appendHMAC appends HMAC(key, msg) (RFC 2104) to out. scratch is a buffer
// the caller keeps between calls (it may grow and is returned); it holds the
// key pads and a copy of msg, and is wiped before returning.
func appendHMAC(out, scratch []byte, alg hashAlg, key, msg []byte) ([]byte, []byte) {
	bs := alg.blockSize()
	var k [128]byte
	if len(key) > bs {
		copy(k[:], alg.sum(k[:0], key))
	} else {
		copy(k[:], key)
	}
	// inner = H((K ^ ipad) || msg)
	scratch = scratch[:0]
	for i := 0; i < bs; i++ {
		scratch = append(scratch, k[i]^0x36)
	}
	scratch = append(scratch, msg...)
	var inner [64]byte
	in := alg.sum(inner[:0], scratch)
	// outer = H((K ^ opad) || inner)
	scratch = scratch[:0]
	for i := 0; i < bs; i++ {
		scratch = append(scratch, k[i]^0x5c)
	}
	scratch = append(scratch, in...)
	out = alg.sum(out, scratch)
	clear(scratch[:bs+max(len(msg), len(in))])
	clear(k[:])
	clear(inner[:])
	return out, scratch[:0]
}
