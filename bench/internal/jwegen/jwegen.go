// Package jwegen builds the JWEs and BT-ENCRYPTED header values that clients send to Sluice,
// independently of package jwe (stdlib only), for benchmarks and the end-to-end harness.
// It implements just what Sluice accepts with enc A256GCM: ECDH-ES over X25519, ECDH-ES+A256KW
// over P-256, and RSA-OAEP-256. It is test tooling: every key it makes is ephemeral.
package jwegen

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
)

// Key algorithms, as in a JWE's "alg" header.
const (
	AlgECDHES       = "ECDH-ES"        // X25519, direct key agreement
	AlgECDHESA256KW = "ECDH-ES+A256KW" // P-256, key agreement + AES key wrap
	AlgRSAOAEP256   = "RSA-OAEP-256"   // RSA
)

// Errors. They never contain key material or plaintext.
var (
	ErrPublicKey = errors.New("jwegen: public key is not usable for the algorithm")
	ErrAlg       = errors.New("jwegen: unsupported algorithm")
)

var b64 = base64.RawURLEncoding

// Encrypt returns a compact JWE (enc A256GCM) of plaintext for the public key in publicPEM, with
// kid in the protected header. For AlgECDHES, publicPEM is PEM armor around the raw 32-byte X25519
// key (as POST /keys returns it); for the others it is a PEM SPKI. plaintext is only read.
func Encrypt(publicPEM, alg, kid string, plaintext []byte) (string, error) {
	blk, _ := pem.Decode([]byte(publicPEM))
	if blk == nil {
		return "", ErrPublicKey
	}
	hdr := map[string]any{"alg": alg, "enc": "A256GCM", "kid": kid}
	var cek, encKey []byte
	switch alg {
	case AlgECDHES:
		pub, err := ecdh.X25519().NewPublicKey(blk.Bytes)
		if err != nil {
			return "", ErrPublicKey
		}
		z, epk, err := agree(ecdh.X25519(), pub)
		if err != nil {
			return "", err
		}
		hdr["epk"] = map[string]string{"kty": "OKP", "crv": "X25519", "x": b64.EncodeToString(epk)}
		cek = ConcatKDF(z, "A256GCM", 256)
	case AlgECDHESA256KW:
		pub, err := p256Key(blk.Bytes)
		if err != nil {
			return "", err
		}
		z, epk, err := agree(ecdh.P256(), pub)
		if err != nil {
			return "", err
		}
		// epk is the uncompressed point 0x04 || X || Y.
		hdr["epk"] = map[string]string{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(epk[1:33]), "y": b64.EncodeToString(epk[33:])}
		kek := ConcatKDF(z, alg, 256)
		cek = randomKey()
		if encKey, err = KeyWrap(kek, cek); err != nil {
			return "", err
		}
	case AlgRSAOAEP256:
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		pub, ok := k.(*rsa.PublicKey)
		if err != nil || !ok {
			return "", ErrPublicKey
		}
		cek = randomKey()
		if encKey, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, cek, nil); err != nil {
			return "", ErrPublicKey
		}
	default:
		return "", ErrAlg
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	protected := b64.EncodeToString(h)
	block, err := aes.NewCipher(cek)
	clear(cek)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	iv := make([]byte, gcm.NonceSize())
	rand.Read(iv)
	sealed := gcm.Seal(nil, iv, plaintext, []byte(protected))
	ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	return strings.Join([]string{protected, b64.EncodeToString(encKey), b64.EncodeToString(iv),
		b64.EncodeToString(ct), b64.EncodeToString(tag)}, "."), nil
}

// BTEncrypted returns the value of a BT-ENCRYPTED header carrying one token: standard base64 of
// {"type": tokenType, "encrypted": compact}.
func BTEncrypted(tokenType, compact string) string {
	b, _ := json.Marshal(struct {
		Type      string `json:"type"`
		Encrypted string `json:"encrypted"`
	}{tokenType, compact})
	return base64.StdEncoding.EncodeToString(b)
}

func p256Key(der []byte) (*ecdh.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, ErrPublicKey
	}
	switch pub := k.(type) {
	case *ecdsa.PublicKey:
		e, err := pub.ECDH()
		if err != nil || e.Curve() != ecdh.P256() {
			return nil, ErrPublicKey
		}
		return e, nil
	case *ecdh.PublicKey:
		if pub.Curve() != ecdh.P256() {
			return nil, ErrPublicKey
		}
		return pub, nil
	}
	return nil, ErrPublicKey
}

// agree makes an ephemeral key on curve and returns the shared secret with pub and the
// ephemeral public key's bytes.
func agree(curve ecdh.Curve, pub *ecdh.PublicKey) (z, epk []byte, err error) {
	eph, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	z, err = eph.ECDH(pub)
	if err != nil {
		return nil, nil, ErrPublicKey
	}
	return z, eph.PublicKey().Bytes(), nil
}

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// ConcatKDF is the single-step KDF of NIST SP 800-56A as JWA uses it (RFC 7518 §4.6.2), with
// SHA-256, AlgorithmID algID, empty PartyUInfo/PartyVInfo and keydatalen bits of output
// (at most 256).
func ConcatKDF(z []byte, algID string, bits int) []byte {
	h := sha256.New()
	var n [4]byte
	put := func(v uint32) { binary.BigEndian.PutUint32(n[:], v); h.Write(n[:]) }
	put(1) // round counter
	h.Write(z)
	put(uint32(len(algID)))
	h.Write([]byte(algID))
	put(0) // apu
	put(0) // apv
	put(uint32(bits))
	return h.Sum(nil)[:bits/8]
}

// KeyWrap is AES Key Wrap (RFC 3394) of key (a multiple of 8 bytes, at least 16) under kek.
func KeyWrap(kek, key []byte) ([]byte, error) {
	if len(key) < 16 || len(key)%8 != 0 {
		return nil, errors.New("jwegen: key wrap input must be a multiple of 8 bytes, at least 16")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(key) / 8
	out := make([]byte, 8+len(key))
	copy(out[8:], key)
	a := uint64(0xA6A6A6A6A6A6A6A6)
	var buf [16]byte
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			binary.BigEndian.PutUint64(buf[:8], a)
			copy(buf[8:], out[8*i:8*i+8])
			block.Encrypt(buf[:], buf[:])
			a = binary.BigEndian.Uint64(buf[:8]) ^ uint64(n*j+i)
			copy(out[8*i:], buf[8:])
		}
	}
	binary.BigEndian.PutUint64(out[:8], a)
	return out, nil
}
