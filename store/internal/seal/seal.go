// Package seal is the authenticated envelope around every sensitive value in the vault:
// AES-256-GCM with a fresh random 96-bit nonce per value and the record's key as additional data,
// so a value cannot be moved to another record and a flipped byte fails authentication.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// version prefixes every sealed value so the format can change without guessing.
const version = 1

// KeySize is the size of every key this package takes.
const KeySize = 32

// Overhead is how many bytes Seal adds to a plaintext.
const Overhead = 1 + 12 + 16

// ErrOpen is the only error Open returns for bad input: no detail that could act as an oracle.
var ErrOpen = errors.New("seal: authentication failed")

// Sealer seals and opens values under one 32-byte key. Safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for key (32 bytes). The Sealer keeps its own expanded copy of key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, errors.New("seal: key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal appends version || nonce || ciphertext+tag of plaintext to dst and returns it.
// aad binds the value to its context (the record key); it is not stored.
func (s *Sealer) Seal(dst, plaintext, aad []byte) []byte {
	start := len(dst)
	dst = append(dst, version)
	dst = append(dst, make([]byte, 12)...)
	if _, err := rand.Read(dst[start+1:]); err != nil {
		panic("seal: no randomness") // crypto/rand never fails on Linux; continuing would reuse nonces
	}
	return s.aead.Seal(dst, dst[start+1:start+13], plaintext, aad)
}

// Open appends the plaintext of sealed to dst. The returned plaintext belongs to the caller.
// Every failure is ErrOpen.
func (s *Sealer) Open(dst, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != version {
		return nil, ErrOpen
	}
	out, err := s.aead.Open(dst, sealed[1:13], sealed[13:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Derive returns a 32-byte key for purpose from secret with HKDF-SHA256. Distinct purposes give
// independent keys, so one secret can feed the envelope, fingerprints and API-key hashes.
func Derive(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "sluice "+purpose, KeySize)
	if err != nil {
		panic("seal: hkdf: " + err.Error()) // only for lengths we never ask for
	}
	return k
}
