package edge

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"sync"
)

// keyTagger tags API keys for the in-memory principal cache with AES-CMAC (RFC 4493) under a
// random per-process key: a 128-bit PRF, so without that key nobody can make two API keys
// share a tag (and so another application's cache entry). One AES block per 16 bytes of key,
// with AES-NI, where a hash of the key costs a whole SHA-256 compression or two.
type keyTagger struct {
	b      cipher.Block
	k1, k2 [16]byte // RFC 4493 subkeys for a complete and a padded last block
}

// tag is a CMAC value.
type tag = [16]byte

func newKeyTagger() *keyTagger {
	var k [16]byte
	rand.Read(k[:])
	return newKeyTaggerWith(k[:])
}

// newKeyTaggerWith is newKeyTagger with a given AES key (16, 24 or 32 bytes).
func newKeyTaggerWith(key []byte) *keyTagger {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("edge: cmac key: " + err.Error())
	}
	t := &keyTagger{b: b}
	var l [16]byte
	b.Encrypt(l[:], l[:])
	t.k1 = double(l)
	t.k2 = double(t.k1)
	return t
}

// double is multiplication by x in GF(2^128) as RFC 4493 defines it.
func double(b [16]byte) [16]byte {
	var d [16]byte
	for i := 0; i < 15; i++ {
		d[i] = b[i]<<1 | b[i+1]>>7
	}
	d[15] = b[15] << 1
	d[15] ^= byte(subtle.ConstantTimeByteEq(b[0]>>7, 1)) * 0x87
	return d
}

// tag returns AES-CMAC(msg).
func (t *keyTagger) tag(msg []byte) tag {
	// The block cipher is behind an interface, so a local chaining block would escape to the
	// heap on every call; a pooled one does not.
	x := blockPool.Get().(*[16]byte)
	*x = [16]byte{}
	for len(msg) > 16 {
		xor16(x, msg)
		t.b.Encrypt(x[:], x[:])
		msg = msg[16:]
	}
	last := t.k1
	if len(msg) < 16 {
		last = t.k2
		last[len(msg)] ^= 0x80
	}
	var m [16]byte // msg's last block, zero-padded
	copy(m[:], msg)
	xor16(&last, m[:])
	xor16(x, last[:])
	t.b.Encrypt(x[:], x[:])
	out := *x
	*x = [16]byte{}
	blockPool.Put(x)
	return out
}

// xor16 sets *dst to *dst XOR src[:16], two words at a time: subtle.XORBytes' length and overlap
// checks cost more than the XOR of one block.
func xor16(dst *[16]byte, src []byte) {
	src = src[:16]
	binary.LittleEndian.PutUint64(dst[:8], binary.LittleEndian.Uint64(dst[:8])^binary.LittleEndian.Uint64(src[:8]))
	binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(dst[8:])^binary.LittleEndian.Uint64(src[8:]))
}

var blockPool = sync.Pool{New: func() any { return new([16]byte) }}
