// Package jwe is the cryptographic core of Sluice's client-side encryption
// (SPEC §6): it generates the key pairs handed to clients and decrypts the JWEs
// they send, alone or wrapped in a BT-ENCRYPTED header.
//
// # Format
//
// A JWE is accepted only in compact serialization (five base64url parts joined by
// dots: protected header, encrypted key, IV, ciphertext, tag) and only with these
// algorithms, checked against explicit allow-lists before any key is touched:
//
//	alg              key kind        enc                 implementation
//	ECDH-ES          X25519          A256GCM, A128GCM    this package (crypto/ecdh)
//	ECDH-ES+A256KW   P-256           A256GCM, A128GCM    go-jose
//	ECDH-ES          P-256           A256GCM, A128GCM    go-jose
//	RSA-OAEP-256     RSA 2048-4096   A256GCM, A128GCM    go-jose
//
// The X25519 form is what Basis Theory's SDKs produce: header
// {"alg":"ECDH-ES","enc":"A256GCM","kid":…,"epk":{"kty":"OKP","crv":"X25519","x":…}},
// an empty encrypted key, the content key derived from the shared secret with the
// Concat KDF of RFC 7518 §4.6 (SHA-256, AlgorithmID = the enc value, apu/apv from
// the header or empty, keydatalen = the enc key size), a 12-byte IV, a 16-byte tag
// and AAD = the ASCII of the encoded protected header. The plaintext must be JSON
// (the token's data).
//
// Everything else is refused with the single opaque [ErrDecrypt]: alg "none",
// "dir", PBES2*, RSA1_5, other enc values, "zip", "crit", duplicate or escaped
// header member names, unknown kids, keys whose kind does not match the header
// alg, epks off the curve, low-order X25519 points, wrong IV or tag lengths, any
// part that is not canonical unpadded base64url (a byte outside the alphabet,
// padding, bits set after the last byte), tag mismatches, non-JSON plaintext,
// and input larger than [MaxJWESize] (checked before parsing). No error says
// which check failed.
//
// The BT-ENCRYPTED header value is base64 (standard or URL alphabet, padded or
// not) of {"type":…,"encrypted":"<JWE>"} or {"<alias>":{"type":…,"encrypted":…},…};
// [ParseBTEncrypted] turns it into {"type":…,"data":<plaintext>} or the map of
// those by alias, ready for JSON-path expressions.
//
// # Keys
//
// [GenerateKey] returns the public key as PEM and as a JWK (with kid and alg) and
// the private key as PKCS#8 DER in [KeyPair.Private]; the caller (the vault) seals
// it and hands it back through a [KeyLookup] on every decryption. A key that the
// lookup refuses (unknown, deleted, expired) cannot decrypt anything, even if a
// [Decrypter] still has it parsed in its cache.
//
// # Plaintext and key material in memory
//
//   - Decrypt and ParseBTEncrypted return a freshly allocated buffer that the caller
//     owns; it holds plaintext token data. Clear it (clear(b)) as soon as it has
//     been used; this package keeps no reference to it.
//   - Intermediate plaintext (each alias's data inside ParseBTEncrypted) is zeroed
//     before the call returns; the output buffer is allocated once, at its final
//     size, so no stray copies are left behind by growth. On failure any partial
//     output is zeroed.
//   - The X25519 shared secret and the content key derived from it are zeroed
//     before Decrypt returns. Copies that live inside the standard library (the
//     AES key schedule, the parsed private key) and inside go-jose (CEK and
//     plaintext on the P-256 and RSA paths) cannot be zeroed from here; they are
//     garbage once the call returns.
//   - The private key bytes returned by a KeyLookup are read during the call and
//     not retained; the caller may wipe them afterwards. A [Decrypter] with a cache
//     keeps parsed private keys (keyed by a copy of the serialized key) until
//     evicted or [Decrypter.Purge]; the package-level functions keep nothing.
package jwe
