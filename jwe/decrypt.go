package jwe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxJWESize is the largest compact JWE accepted, in bytes. It is checked
// before anything is parsed.
const MaxJWESize = 256 << 10

// ErrDecrypt is the only error Decrypt and ParseBTEncrypted return. It is the
// same for every cause, so it is no oracle and carries no data.
var ErrDecrypt = errors.New("jwe: decryption failed")

// KeyLookup returns the key stored under kid: the KeyPair.Alg it was created
// with and its KeyPair.Private bytes. It must return an error for a kid that is
// unknown, deleted or expired; Decrypt turns any error into ErrDecrypt. The
// returned private bytes are only read during the call that asked for them and
// are not retained, so the lookup may wipe or reuse them afterwards.
type KeyLookup func(kid string) (alg string, private []byte, err error)

// Decrypt decrypts a compact JWE whose key is found through lookup (see the
// package documentation for what is accepted). It returns the plaintext, which
// is always valid JSON, in a new buffer owned by the caller; it holds secret
// data, so clear it once used. Every failure returns ErrDecrypt.
//
// Decrypt parses the private key on every call. A Decrypter with a key cache
// avoids that, which halves the cost of the X25519 path.
func Decrypt(compact []byte, lookup KeyLookup) ([]byte, error) {
	out, _, err := decrypt(compact, lookup, nil)
	return out, err
}

// Decrypter decrypts JWEs with keys from one KeyLookup and keeps up to a fixed
// number of parsed private keys in memory, keyed by (a copy of) their
// serialized form, so that each decryption parses nothing. The lookup is still
// called for every JWE: a key it refuses cannot decrypt, cached or not.
// A Decrypter is safe for concurrent use.
type Decrypter struct {
	lookup KeyLookup
	cache  *keyCache
}

// NewDecrypter returns a Decrypter using lookup. maxCachedKeys bounds the
// number of parsed private keys held in memory; 0 disables the cache.
func NewDecrypter(lookup KeyLookup, maxCachedKeys int) *Decrypter {
	d := &Decrypter{lookup: lookup}
	if maxCachedKeys > 0 {
		d.cache = &keyCache{max: maxCachedKeys, m: make(map[string]parsedKey)}
	}
	return d
}

// Decrypt is like the package-level Decrypt, using d's lookup and cache.
func (d *Decrypter) Decrypt(compact []byte) ([]byte, error) {
	out, _, err := decrypt(compact, d.lookup, d.cache)
	return out, err
}

// DecryptAlg is Decrypt that also names the JWE's key-management algorithm, for metrics: one
// of AlgECDHES, AlgECDHESA256KW and AlgRSAOAEP256 once the protected header parsed and passed
// the allow-list, else "other" — whether or not decryption then succeeded.
func (d *Decrypter) DecryptAlg(compact []byte) ([]byte, string, error) {
	return decrypt(compact, d.lookup, d.cache)
}

// ParseBTEncrypted is like the package-level ParseBTEncrypted, using d's
// lookup and cache.
func (d *Decrypter) ParseBTEncrypted(header []byte) ([]byte, error) {
	out, _, err := parseBTEncrypted(header, d.lookup, d.cache)
	return out, err
}

// ParseBTEncryptedAlg is ParseBTEncrypted that also names the algorithm of the first JWE it
// reached, as DecryptAlg does.
func (d *Decrypter) ParseBTEncryptedAlg(header []byte) ([]byte, string, error) {
	return parseBTEncrypted(header, d.lookup, d.cache)
}

// Purge drops every cached private key (for example after keys were deleted,
// so that their material leaves memory promptly).
func (d *Decrypter) Purge() {
	if d.cache != nil {
		d.cache.purge()
	}
}

// keyCache maps serialized private keys to their parsed form. The map's keys
// are copies of the serialized keys (string(der) copies; the lookup's bytes
// are not retained), which the parsed keys hold anyway: a map lookup hashes
// them in a few instructions where a SHA-256 of them costs a block.
type keyCache struct {
	mu      sync.RWMutex
	max     int
	m       map[string]parsedKey
	lastKID atomic.Pointer[string] // see kid
}

// kid returns b as a string for the lookup: the one made for the previous JWE when b is the
// same key id, so that a client keeping to one key costs no allocation here.
func (c *keyCache) kid(b []byte) string {
	if c == nil {
		return string(b)
	}
	if p := c.lastKID.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	c.lastKID.Store(&s)
	return s
}

// key returns the parsed form of der, from the cache or by parsing it.
func (c *keyCache) key(der []byte) (parsedKey, bool) {
	if c == nil {
		return parsePrivate(der)
	}
	c.mu.RLock()
	k, ok := c.m[string(der)]
	c.mu.RUnlock()
	if ok {
		return k, true
	}
	k, ok = parsePrivate(der)
	if !ok {
		return k, false
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		for victim := range c.m { // map order is random: random eviction
			delete(c.m, victim)
			break
		}
	}
	c.m[string(der)] = k
	c.mu.Unlock()
	return k, true
}

func (c *keyCache) purge() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// compact JWE part indexes.
const (
	partHeader = iota
	partKey
	partIV
	partCiphertext
	partTag
)

const (
	ivEncodedLen  = 16 // 12 bytes
	tagEncodedLen = 22 // 16 bytes
)

// compactJWE is a compact JWE split at its dots (enc: views of the input) and
// its parts decoded (dec: views of one buffer, in order, so that the
// ciphertext runs on into the tag).
type compactJWE struct {
	enc, dec [5][]byte
}

// splitCompact splits a compact JWE into its five parts: header and encrypted key up to the
// first two dots, then the IV, ciphertext and tag by the IV's and tag's fixed lengths
// (ivEncodedLen, tagEncodedLen), with a dot after the IV and before the tag. A further dot is
// left inside a part, where decodeParts refuses it (a dot is not base64url): whatever splits
// and decodes had exactly four dots.
func splitCompact(b []byte) (j compactJWE, ok bool) {
	for _, p := range [...]int{partHeader, partKey} {
		i := bytes.IndexByte(b, '.')
		if i < 0 {
			return j, false
		}
		j.enc[p], b = b[:i], b[i+1:]
	}
	tag := len(b) - tagEncodedLen
	if tag < ivEncodedLen+2 || b[ivEncodedLen] != '.' || b[tag-1] != '.' {
		return j, false
	}
	j.enc[partIV], j.enc[partCiphertext], j.enc[partTag] = b[:ivEncodedLen], b[ivEncodedLen+1:tag-1], b[tag:]
	return j, true
}

// decodeParts decodes every part of j into one new buffer, refusing any byte
// outside the base64url alphabet and any non-canonical part (decodeB64), on
// every path: go-jose's own decoder is laxer.
func (j *compactJWE) decodeParts() bool {
	size := 0
	for _, p := range j.enc {
		size += b64DecodedLen(len(p))
	}
	buf := make([]byte, size)
	for i, p := range j.enc {
		var n int
		var ok bool
		if i == partHeader {
			n, ok = decodeHeader(buf, p)
		} else {
			n, ok = decodeB64(buf, p, b64URLDec)
		}
		if !ok {
			return false
		}
		j.dec[i], buf = buf[:n], buf[n:]
	}
	return true
}

// AlgOther is the algorithm DecryptAlg reports for a JWE it could not read that far.
const AlgOther = "other"

func decrypt(compact []byte, lookup KeyLookup, cache *keyCache) (out []byte, alg string, err error) {
	alg = AlgOther
	// Size first, before a single byte is parsed.
	if len(compact) == 0 || len(compact) > MaxJWESize || lookup == nil {
		return nil, alg, ErrDecrypt
	}
	j, ok := splitCompact(compact)
	if !ok || len(j.enc[partHeader]) > maxHeaderEncoded ||
		len(j.enc[partIV]) != ivEncodedLen || len(j.enc[partTag]) != tagEncodedLen {
		return nil, alg, ErrDecrypt
	}
	if !j.decodeParts() {
		return nil, alg, ErrDecrypt
	}
	var h header
	if !readHeader(j.dec[partHeader], &h) {
		return nil, alg, ErrDecrypt
	}
	keyLen, ok := allowedAlgEnc(h.alg, h.enc)
	if !ok {
		return nil, alg, ErrDecrypt
	}
	alg = algName(h.alg)

	keyAlg, der, err := lookup(cache.kid(h.kid))
	if err != nil {
		return nil, alg, ErrDecrypt
	}
	key, ok := cache.key(der)
	if !ok || !keyAlgMatches(keyAlg, key.kind(), h.alg) {
		return nil, alg, ErrDecrypt
	}

	switch key.kind() {
	case kindX25519:
		out, ok = decryptX25519(key.x25519, &h, &j, keyLen)
	case kindP256:
		out, ok = decryptP256(key.p256, compact, &h, &j)
	case kindRSA:
		out, ok = decryptRSA(key.rsa, compact, &h, &j)
	}
	if !ok {
		return nil, alg, ErrDecrypt
	}
	if !validJSON(out) {
		clear(out)
		return nil, alg, ErrDecrypt
	}
	return out, alg, nil
}

// algName is the constant spelling of an allowed alg (no allocation).
func algName(alg []byte) string {
	for _, a := range [...]string{AlgECDHES, AlgECDHESA256KW, AlgRSAOAEP256} {
		if string(alg) == a {
			return a
		}
	}
	return AlgOther
}

// decryptX25519 is the Basis Theory path: direct ECDH-ES on X25519, Concat
// KDF, AES-GCM. The shared secret and content key are zeroed before return.
func decryptX25519(priv *ecdh.PrivateKey, h *header, j *compactJWE, keyLen int) ([]byte, bool) {
	if !h.hasEPK || h.hasY || string(h.kty) != "OKP" || string(h.crv) != "X25519" ||
		len(h.x) != 43 || len(j.enc[partKey]) != 0 {
		return nil, false
	}
	x := h.xKey
	if !h.xDecoded {
		if n, ok := decodeB64(x[:], h.x, b64URLDec); !ok || n != len(x) {
			return nil, false
		}
	}
	epk, err := ecdh.X25519().NewPublicKey(x[:])
	if err != nil {
		return nil, false
	}
	z, err := priv.ECDH(epk) // refuses an all-zero result (low-order epk)
	if err != nil {
		return nil, false
	}
	if len(z) == 32 && allZero32((*[32]byte)(z)) { // belt and braces
		return nil, false
	}

	var cek [32]byte
	ok := deriveCEK(cek[:keyLen], z, h)
	clear(z)
	if !ok {
		return nil, false
	}
	out, ok := openGCM(cek[:keyLen], j)
	clear(cek[:])
	return out, ok
}

// deriveCEK derives the content key from z with the Concat KDF, the header's enc as
// AlgorithmID and its apu and apv, decoded, as the parties' info.
func deriveCEK(cek, z []byte, h *header) bool {
	if len(h.apu) == 0 && len(h.apv) == 0 { // the SDKs send neither: no buffers to clear
		concatKDF(cek, z, h.enc, nil, nil)
		return true
	}
	var apuBuf, apvBuf [maxHeaderDecoded / 2]byte
	apu, ok1 := decodeParty(apuBuf[:], h.apu)
	apv, ok2 := decodeParty(apvBuf[:], h.apv)
	if !ok1 || !ok2 {
		return false
	}
	concatKDF(cek, z, h.enc, apu, apv)
	return true
}

// allZero32 reports whether b is all zero bytes, in time independent of its contents: four
// words ORed (crypto/subtle.ConstantTimeCompare goes a byte at a time).
func allZero32(b *[32]byte) bool {
	le := binary.LittleEndian
	return le.Uint64(b[0:])|le.Uint64(b[8:])|le.Uint64(b[16:])|le.Uint64(b[24:]) == 0
}

// decodeParty decodes an apu/apv value into dst; absent means empty.
func decodeParty(dst, enc []byte) ([]byte, bool) {
	if len(enc) == 0 {
		return nil, true
	}
	if b64DecodedLen(len(enc)) > len(dst) {
		return nil, false
	}
	n, ok := decodeB64(dst, enc, b64URLDec)
	if !ok {
		return nil, false
	}
	return dst[:n], true
}

// openGCM authenticates and decrypts the ciphertext in place: ciphertext and
// tag are adjacent in j's buffer, and Open overwrites the ciphertext with the
// plaintext. AAD is the encoded protected header, as RFC 7516 §5.2 step 14 says.
func openGCM(cek []byte, j *compactJWE) ([]byte, bool) {
	iv, ct := j.dec[partIV], j.dec[partCiphertext]
	if len(iv) != 12 || len(j.dec[partTag]) != 16 {
		return nil, false
	}
	buf := ct[:len(ct)+16] // the tag follows the ciphertext
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, false
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, false
	}
	out, err := gcm.Open(buf[:0], iv, buf, j.enc[partHeader])
	if err != nil {
		clear(buf)
		return nil, false
	}
	return out[:len(out):len(out)], true
}

// decryptP256 checks what go-jose would otherwise check later (epk on the
// curve, encrypted key presence) and lets go-jose decrypt.
func decryptP256(priv *ecdsa.PrivateKey, compact []byte, h *header, j *compactJWE) ([]byte, bool) {
	if !h.hasEPK || string(h.kty) != "EC" || string(h.crv) != "P-256" ||
		len(h.x) != 43 || len(h.y) != 43 {
		return nil, false
	}
	wrapped := string(h.alg) == AlgECDHESA256KW
	if wrapped != (len(j.enc[partKey]) > 0) {
		return nil, false
	}
	if !validP256Point(h.x, h.y) {
		return nil, false
	}
	return decryptJOSE(priv, compact, h)
}

// validP256Point reports whether base64url x and y are a point on P-256
// (crypto/ecdh refuses off-curve points and the point at infinity).
func validP256Point(x, y []byte) bool {
	var point [65]byte
	point[0] = 4
	if n, ok := decodeB64(point[1:33], x, b64URLDec); !ok || n != 32 {
		return false
	}
	if n, ok := decodeB64(point[33:], y, b64URLDec); !ok || n != 32 {
		return false
	}
	_, err := ecdh.P256().NewPublicKey(point[:])
	return err == nil
}

func decryptRSA(priv *rsa.PrivateKey, compact []byte, h *header, j *compactJWE) ([]byte, bool) {
	if h.hasEPK || len(j.enc[partKey]) == 0 {
		return nil, false
	}
	return decryptJOSE(priv, compact, h)
}

// decryptJOSE hands the JWE to go-jose with allow-lists of exactly the alg and
// enc already checked; go-jose re-parses the same header, which parseHeader
// has made unambiguous (no duplicate or escaped names, no zip, no crit).
func decryptJOSE(priv any, compact []byte, h *header) ([]byte, bool) {
	obj, err := jose.ParseEncryptedCompact(string(compact),
		[]jose.KeyAlgorithm{jose.KeyAlgorithm(h.alg)},
		[]jose.ContentEncryption{jose.ContentEncryption(h.enc)})
	if err != nil {
		return nil, false
	}
	out, err := obj.Decrypt(priv)
	if err != nil {
		return nil, false
	}
	return out, true
}
