package jwe

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"

	jose "github.com/go-jose/go-jose/v4"
)

// Key algorithms, as they appear in KeyPair.Alg and in a JWE's "alg" header.
const (
	// AlgECDHES is direct key agreement; keys of this kind are X25519.
	AlgECDHES = "ECDH-ES"
	// AlgECDHESA256KW is key agreement with AES key wrap; keys are P-256.
	AlgECDHESA256KW = "ECDH-ES+A256KW"
	// AlgRSAOAEP256 is RSA-OAEP with SHA-256; keys are RSA 2048.
	AlgRSAOAEP256 = "RSA-OAEP-256"
)

// MaxKIDLength bounds the key id given to GenerateKey.
const MaxKIDLength = 128

var (
	// ErrUnsupportedAlgorithm is returned by GenerateKey for an alg it does not make.
	ErrUnsupportedAlgorithm = errors.New("jwe: unsupported key algorithm")
	// ErrInvalidKID is returned by GenerateKey for an empty, too long or
	// non-[A-Za-z0-9._:-] key id.
	ErrInvalidKID = errors.New("jwe: invalid key id")
)

// KeyPair is a freshly generated key. The public parts (PublicKeyPEM, JWK) are
// meant to be shown to the client once; Private is the secret and must be sealed
// by the caller before it is stored. GenerateKey keeps no reference to any field.
type KeyPair struct {
	KID string
	Alg string
	// PublicKeyPEM is, for X25519, PEM armor ("PUBLIC KEY") around the raw
	// 32-byte key, as Basis Theory's SDKs expect; for P-256 and RSA, a PEM SPKI.
	PublicKeyPEM string
	// JWK is the public key as a JWK with "kid", "alg" and "use":"enc".
	JWK json.RawMessage
	// Private is the private key, serialized as PKCS#8 DER. Treat it as opaque:
	// hand it back unchanged through a KeyLookup.
	Private []byte
}

// GenerateKey makes a key pair for alg: "" or AlgECDHES (X25519),
// AlgECDHESA256KW (P-256) or AlgRSAOAEP256 (RSA 2048). kid is the key id the
// client will put in the JWE header; it must be 1 to MaxKIDLength characters of
// [A-Za-z0-9._:-] so that it needs no escaping in any JSON encoder.
func GenerateKey(alg, kid string) (*KeyPair, error) {
	if !validKID(kid) {
		return nil, ErrInvalidKID
	}
	switch alg {
	case "", AlgECDHES:
		return generateX25519(kid)
	case AlgECDHESA256KW:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, errors.New("jwe: key generation failed")
		}
		return finishJOSEKey(AlgECDHESA256KW, kid, priv, &priv.PublicKey)
	case AlgRSAOAEP256:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, errors.New("jwe: key generation failed")
		}
		return finishJOSEKey(AlgRSAOAEP256, kid, priv, &priv.PublicKey)
	default:
		return nil, ErrUnsupportedAlgorithm
	}
}

func validKID(kid string) bool {
	if len(kid) == 0 || len(kid) > MaxKIDLength {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

type okpJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func generateX25519(kid string) (*KeyPair, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, errors.New("jwe: key generation failed")
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, errors.New("jwe: key generation failed")
	}
	pub := priv.PublicKey().Bytes()
	jwk, err := json.Marshal(okpJWK{
		Kty: "OKP", Crv: "X25519", X: base64.RawURLEncoding.EncodeToString(pub),
		Kid: kid, Alg: AlgECDHES, Use: "enc",
	})
	if err != nil {
		return nil, errors.New("jwe: key generation failed")
	}
	return &KeyPair{
		KID:          kid,
		Alg:          AlgECDHES,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		JWK:          jwk,
		Private:      der,
	}, nil
}

func finishJOSEKey(alg, kid string, priv, pub any) (*KeyPair, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, errors.New("jwe: key generation failed")
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, errors.New("jwe: key generation failed")
	}
	jwk, err := jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "enc"}.MarshalJSON()
	if err != nil {
		return nil, errors.New("jwe: key generation failed")
	}
	return &KeyPair{
		KID:          kid,
		Alg:          alg,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		JWK:          jwk,
		Private:      der,
	}, nil
}

// pkcs8X25519Prefix is the fixed DER prefix of a PKCS#8 X25519 private key
// (RFC 8410): SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING {
// OCTET STRING (32 bytes) } }. Recognizing it avoids an ASN.1 parse per call.
var pkcs8X25519Prefix = []byte{
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e,
	0x04, 0x22, 0x04, 0x20,
}

// keyKind is what a private key can decrypt.
type keyKind uint8

const (
	kindNone keyKind = iota
	kindX25519
	kindP256
	kindRSA
)

// parsedKey is a private key ready for use; exactly one field is set.
type parsedKey struct {
	x25519 *ecdh.PrivateKey
	p256   *ecdsa.PrivateKey
	rsa    *rsa.PrivateKey
}

func (k parsedKey) kind() keyKind {
	switch {
	case k.x25519 != nil:
		return kindX25519
	case k.p256 != nil:
		return kindP256
	case k.rsa != nil:
		return kindRSA
	}
	return kindNone
}

// parsePrivate parses a KeyPair.Private. It does not retain der.
func parsePrivate(der []byte) (parsedKey, bool) {
	if len(der) == len(pkcs8X25519Prefix)+32 && bytes.HasPrefix(der, pkcs8X25519Prefix) {
		k, err := ecdh.X25519().NewPrivateKey(der[len(pkcs8X25519Prefix):])
		if err != nil {
			return parsedKey{}, false
		}
		return parsedKey{x25519: k}, true
	}
	if !wholeDERSequence(der) {
		return parsedKey{}, false
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return parsedKey{}, false
	}
	switch k := k.(type) {
	case *ecdh.PrivateKey:
		if k.Curve() != ecdh.X25519() {
			return parsedKey{}, false
		}
		return parsedKey{x25519: k}, true
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return parsedKey{}, false
		}
		return parsedKey{p256: k}, true
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < 2048 || bits > 4096 {
			return parsedKey{}, false
		}
		return parsedKey{rsa: k}, true
	}
	return parsedKey{}, false
}

// wholeDERSequence reports whether der is exactly one DER SEQUENCE with no
// trailing bytes (x509.ParsePKCS8PrivateKey ignores trailing data).
func wholeDERSequence(der []byte) bool {
	if len(der) < 2 || der[0] != 0x30 {
		return false
	}
	n, hdr := int(der[1]), 2
	if n&0x80 != 0 {
		lenBytes := n & 0x7f
		if lenBytes == 0 || lenBytes > 3 || len(der) < 2+lenBytes {
			return false
		}
		n = 0
		for _, b := range der[2 : 2+lenBytes] {
			n = n<<8 | int(b)
		}
		hdr += lenBytes
	}
	return len(der)-hdr == n
}

// keyAlgMatches reports whether a key stored with alg keyAlg and parsed as kind
// may decrypt a JWE whose header says hdrAlg.
func keyAlgMatches(keyAlg string, kind keyKind, hdrAlg []byte) bool {
	switch kind {
	case kindX25519:
		return (keyAlg == AlgECDHES || keyAlg == "") && string(hdrAlg) == AlgECDHES
	case kindP256:
		return keyAlg == AlgECDHESA256KW &&
			(string(hdrAlg) == AlgECDHESA256KW || string(hdrAlg) == AlgECDHES)
	case kindRSA:
		return keyAlg == AlgRSAOAEP256 && string(hdrAlg) == AlgRSAOAEP256
	}
	return false
}
