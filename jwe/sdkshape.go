package jwe

import "encoding/base64"

// The shapes below are what the SDKs send on every request. Each is read by a few comparisons
// instead of the general walk; anything else, however slightly different (another member
// order, whitespace, apu/apv, A128GCM, an escape), goes the general way. What a shortcut
// accepts, the general reader reads the same (FuzzSDKHeaderAgreesWithParseHeader,
// FuzzSDKBTTokenAgreesWithBTEntries).

// epkXLen is the length of an X25519 epk's x: 32 bytes in unpadded base64url.
const epkXLen = 43

// headerShape is a protected header as an SDK writes it: fixed text around two holes, the
// epk's x (epkXLen characters) and the kid (its only part of varying length).
type headerShape struct {
	before, between, after string
	xFirst                 bool // x is the first hole, the kid the second
}

var sdkHeaderShapes = [...]headerShape{
	// Basis Theory's SDKs (the order in the package documentation).
	{`{"alg":"ECDH-ES","enc":"A256GCM","kid":"`, `","epk":{"kty":"OKP","crv":"X25519","x":"`, `"}}`, false},
	// Members sorted, as encoding/json writes a map (Go clients, the benchmark gate).
	{`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"crv":"X25519","kty":"OKP","x":"`, `"},"kid":"`, `"}`, true},
}

// headerStart is how each of sdkHeaderShapes begins, cut to whole base64 groups: its bytes
// and their base64url.
type headerStart struct{ dec, enc string }

var sdkHeaderStarts = func() (starts [len(sdkHeaderShapes)]headerStart) {
	for i, s := range sdkHeaderShapes {
		dec := s.before[:len(s.before)/3*3]
		starts[i] = headerStart{dec, base64.RawURLEncoding.EncodeToString([]byte(dec))}
	}
	return starts
}()

// decodeHeader decodes the base64url protected header enc into dst like decodeB64, but copies
// the start of an SDK header instead of decoding it: canonical base64 has one encoding per
// byte string, so the bytes are the same (FuzzDecodeHeaderAgreesWithDecodeB64).
func decodeHeader(dst, enc []byte) (int, bool) {
	for _, s := range &sdkHeaderStarts {
		if len(enc) >= len(s.enc) && string(enc[:len(s.enc)]) == s.enc {
			n := copy(dst, s.dec)
			m, ok := decodeB64(dst[n:], enc[len(s.enc):], b64URLDec)
			return n + m, ok
		}
	}
	return decodeB64(dst, enc, b64URLDec)
}

// The values every SDK-shaped header holds (read-only).
var (
	sdkAlg = []byte(AlgECDHES)
	sdkEnc = []byte("A256GCM")
	sdkKty = []byte("OKP")
	sdkCrv = []byte("X25519")
)

// readHeader is parseHeader with a shortcut for the SDKs' headers.
func readHeader(b []byte, h *header) bool {
	if sdkHeader(b, h) {
		return true
	}
	var ok bool
	*h, ok = parseHeader(b)
	return ok
}

// sdkHeader reads b into h if it is one of sdkHeaderShapes with a non-empty kid of plain
// JSON string content (no quote, backslash or control byte) and an x that decodes to an
// X25519 key (base64url is plain string content), which it keeps in h.xKey.
func sdkHeader(b []byte, h *header) bool {
	for i := range sdkHeaderShapes {
		s := &sdkHeaderShapes[i]
		kidLen := len(b) - len(s.before) - len(s.between) - len(s.after) - epkXLen
		if kidLen <= 0 || string(b[:len(s.before)]) != s.before || string(b[len(b)-len(s.after):]) != s.after {
			continue
		}
		first := len(s.before)
		mid := first + epkXLen
		if !s.xFirst {
			mid = first + kidLen
		}
		if string(b[mid:mid+len(s.between)]) != s.between {
			continue
		}
		x, kid := b[first:mid], b[mid+len(s.between):len(b)-len(s.after)]
		if !s.xFirst {
			x, kid = kid, x
		}
		var key [32]byte
		if n, ok := decodeB64(key[:], x, b64URLDec); !ok || n != len(key) || !plainString(kid) {
			continue
		}
		*h = header{alg: sdkAlg, enc: sdkEnc, kid: kid, hasEPK: true, kty: sdkKty, crv: sdkCrv, x: x,
			xKey: key, xDecoded: true}
		return true
	}
	return false
}

// plainString reports whether s can stand between a JSON string's quotes as it is.
func plainString(s []byte) bool { return indexStringSpecial(s) == len(s) }

// sdkBTToken reads a decoded BT-ENCRYPTED value of the single form exactly as the SDKs write
// it, {"type":"<type>","encrypted":"<JWE>"}, with a type of plain JSON string content. It
// returns the spans btToken would: the type with its quotes, the JWE without.
//
// The JWE is taken to be everything up to the closing "} and is not checked here as a JSON
// string: decrypt refuses, before it reads the header, any JWE with a byte other than
// base64url and its four dots, and those bytes are plain JSON string content. So whatever is
// decrypted through this shortcut, btEntries reads the same; whatever it refuses, btEntries
// refuses or decrypt fails alike (ErrDecrypt, algorithm "other").
func sdkBTToken(raw []byte) (typ, jwe span, ok bool) {
	const open, between, end = `{"type":"`, `","encrypted":"`, `"}`
	if len(raw) < len(open)+len(between)+len(end) || string(raw[:len(open)]) != open ||
		string(raw[len(raw)-len(end):]) != end {
		return typ, jwe, false
	}
	q := len(open) + indexStringSpecial(raw[len(open):len(raw)-len(end)]) // the type's closing quote
	if q+len(between) > len(raw)-len(end) || string(raw[q:q+len(between)]) != between {
		return typ, jwe, false
	}
	return span{len(open) - 1, q + 1}, span{q + len(between), len(raw) - len(end)}, true
}
