package expr

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
)

// Footprint's encrypt filter: encrypt('<algorithm>', '<hex DER public key>')
// encrypts the value's text to a public key and gives the lower-case hex of
// what Footprint's vault proxy produces:
//
//   - rsa_pkcs1v15: the RSA PKCS #1 v1.5 ciphertext (a text longer than the
//     key can hold, k − 11 bytes, is null).
//   - ecies_p256_x963_sha256_aes_gcm: ECDH with a fresh P-256 key, the
//     AES-256 key SHA-256(shared x ‖ 00000001 ‖ ephemeral point) (ANSI X9.63
//     KDF, one round), AES-256-GCM with a random 12-byte IV and the
//     recipient's uncompressed point as associated data, serialized as
//     Footprint serializes it: the CBOR map {"v": 1, "epk": [65 bytes],
//     "iv": [12 bytes], "c": [ciphertext ‖ tag]} with byte strings as arrays
//     of integers. A text over maxEncryptLen bytes is null.
//
// The key is DER (SubjectPublicKeyInfo; PKCS #1 RSAPublicKey too for RSA)
// and is parsed when the expression is, so a bad key is a parse error that
// names the filter, never the key.

type encAlg uint8

const (
	encRSA encAlg = iota + 1
	encECIES
)

type encKey struct {
	alg   encAlg
	rsa   *rsa.PublicKey
	ec    *ecdh.PublicKey
	point []byte // ec's uncompressed point, the GCM associated data
}

const (
	// maxEncryptLen bounds the text ECIES encrypts: its hex CBOR is four
	// times as long.
	maxEncryptLen = 1 << 20
	// eciesOverhead bounds the CBOR around the ciphertext's integers: map
	// and array heads, the keys, the version, the point and the IV.
	eciesOverhead = 256
	minRSABits    = 1024
	maxRSABits    = 8192
)

// parseEncKey parses encrypt's arguments. The key's DER is decoded into the
// parser's argument buffer.
func (p *parser) parseEncKey(alg, hexKey []byte) (*encKey, string) {
	k := &encKey{}
	switch string(trimSpace(alg)) {
	case "rsa_pkcs1v15":
		k.alg = encRSA
	case "ecies_p256_x963_sha256_aes_gcm":
		k.alg = encECIES
	default:
		return nil, "algorithm must be 'rsa_pkcs1v15' or 'ecies_p256_x963_sha256_aes_gcm'"
	}
	hexKey = trimSpace(hexKey)
	if len(hexKey) == 0 || len(hexKey)%2 != 0 || !p.room(len(hexKey)/2) {
		return nil, "the key must be a hex-encoded DER public key"
	}
	off := len(p.buf)
	buf, err := hex.AppendDecode(p.buf, hexKey)
	if err != nil {
		return nil, "the key must be a hex-encoded DER public key"
	}
	der := buf[off:]
	if k.alg == encRSA {
		pub, ok := parseRSAKey(der)
		if !ok {
			return nil, "the key is not a DER RSA public key of 1024 to 8192 bits"
		}
		k.rsa = pub
		return k, ""
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	ec, ok := pub.(*ecdsa.PublicKey)
	if err != nil || !ok || ec.Curve != elliptic.P256() {
		return nil, "the key is not a DER P-256 public key"
	}
	if k.ec, err = ec.ECDH(); err != nil {
		return nil, "the key is not a DER P-256 public key"
	}
	k.point = k.ec.Bytes()
	return k, ""
}

func parseRSAKey(der []byte) (*rsa.PublicKey, bool) {
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub, _ = k.(*rsa.PublicKey)
	} else if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		pub = k
	}
	if pub == nil || pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits {
		return nil, false
	}
	return pub, true
}

// encryptBound is the longest output of encrypt for an input of n bytes.
func encryptBound(c *call, n int64) int64 {
	if c.enc.alg == encRSA {
		return 2 * int64(c.enc.rsa.Size())
	}
	return 2 * (eciesOverhead + 2*(min(n, maxEncryptLen)+gcmTagLen))
}

const gcmTagLen = 16

// applyEncrypt encrypts the value's text. A value it cannot encrypt (not
// text, too long) is null, like any value a filter cannot use.
func applyEncrypt(c *call, v value, out []byte) (value, []byte, *ferr) {
	s, ok := textOf(v)
	if !ok {
		return null, out, nil
	}
	var o []byte
	if c.enc.alg == encRSA {
		o, ok = appendRSA(out, c.enc.rsa, s)
	} else {
		o, ok = appendECIES(out, c.enc, s)
	}
	if !ok {
		return null, out, nil
	}
	return str(o), o, nil
}

func appendRSA(out []byte, pub *rsa.PublicKey, msg []byte) ([]byte, bool) {
	if len(msg) > pub.Size()-11 {
		return out, false
	}
	//lint:ignore SA1019 PKCS #1 v1.5 encryption is what Footprint's filter offers.
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
	if err != nil {
		return out, false
	}
	return hex.AppendEncode(out, ct), true
}

func appendECIES(out []byte, k *encKey, msg []byte) ([]byte, bool) {
	if len(msg) > maxEncryptLen {
		return out, false
	}
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return out, false
	}
	z, err := eph.ECDH(k.ec)
	if err != nil {
		return out, false
	}
	epk := eph.PublicKey().Bytes()
	h := sha256.New()
	h.Write(z)
	h.Write([]byte{0, 0, 0, 1})
	h.Write(epk)
	key := h.Sum(nil)
	clear(z)
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return out, false
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return out, false
	}
	var iv [12]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return out, false
	}
	ct := gcm.Seal(nil, iv[:], msg, k.point)

	out = cborHead(out, majMap, 4)
	out = cborText(out, "v")
	out = cborHead(out, majUint, 1)
	out = cborText(out, "epk")
	out = cborBytesAsArray(out, epk)
	out = cborText(out, "iv")
	out = cborBytesAsArray(out, iv[:])
	out = cborText(out, "c")
	return cborBytesAsArray(out, ct), true
}

// CBOR (RFC 8949) major types, written straight as hex.
const (
	majUint  = 0
	majText  = 3
	majArray = 4
	majMap   = 5
)

// cborHead appends the hex of a CBOR head: major type and argument n.
func cborHead(out []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return appendHexLower(out, []byte{m | byte(n)})
	case n < 1<<8:
		return appendHexLower(out, []byte{m | 24, byte(n)})
	case n < 1<<16:
		return appendHexLower(out, []byte{m | 25, byte(n >> 8), byte(n)})
	}
	return appendHexLower(out, []byte{m | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func cborText(out []byte, s string) []byte {
	out = cborHead(out, majText, uint64(len(s)))
	return appendHexLower(out, sbytes(s))
}

// cborBytesAsArray writes b as serde_cbor writes a Vec<u8>: an array of
// unsigned integers.
func cborBytesAsArray(out, b []byte) []byte {
	out = cborHead(out, majArray, uint64(len(b)))
	for _, c := range b {
		out = cborHead(out, majUint, uint64(c))
	}
	return out
}
