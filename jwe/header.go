package jwe

import "encoding/json"

// Limits on the protected header.
const (
	// maxHeaderEncoded bounds the base64url protected header (decoded: 3 KiB).
	maxHeaderEncoded = 4096
	maxHeaderDecoded = maxHeaderEncoded / 4 * 3
	// maxHeaderMembers bounds the number of top-level header members.
	maxHeaderMembers = 32
)

// header holds views into the decoded protected header. String fields are the
// raw content between the quotes (escapes are refused); epk x/y and apu/apv are
// still base64url.
type header struct {
	alg, enc, kid  []byte
	hasEPK         bool
	kty, crv, x, y []byte
	hasY           bool
	apu, apv       []byte
	// xKey is x decoded when xDecoded: the SDK shortcut (sdkHeader) checks x by decoding it.
	xKey     [32]byte
	xDecoded bool
}

// parseHeader parses and checks a decoded protected header: a JSON object with
// unique, unescaped member names; "alg", "enc" and "kid" present as non-empty
// strings; no "zip" and no "crit"; "epk", if present, an object with only kty,
// crv, x and y, all strings. Other members are ignored (RFC 7515 §4). alg and
// enc are checked against the allow-lists by allowedAlgEnc, not here. The
// returned header holds views into b.
func parseHeader(b []byte) (header, bool) {
	var h header
	it, ok := newObjIter(b)
	if !ok {
		return h, false
	}
	var spans [maxHeaderMembers]span
	seen := seenKeys{spans: spans[:]}
	skipped := false // a value the walk did not check
	for {
		k, more := it.name()
		if !more {
			break
		}
		if !seen.add(b, k) {
			return h, false
		}
		name := b[k.start:k.end]
		if string(name) == "epk" {
			epk, ok := it.object()
			if !ok {
				return h, false
			}
			h.kty, h.crv, h.x, h.y, h.hasY, ok = parseEPK(&epk)
			if !ok || !it.endObject(&epk) {
				return h, false
			}
			h.hasEPK = true
			continue
		}
		v, more := it.value()
		if !more {
			return h, false
		}
		ok := true
		switch string(name) {
		case "alg":
			h.alg, ok = it.str(v)
		case "enc":
			h.enc, ok = it.str(v)
		case "kid":
			h.kid, ok = it.str(v)
		case "apu":
			h.apu, ok = it.str(v)
		case "apv":
			h.apv, ok = it.str(v)
		case "zip", "crit":
			ok = false
		default:
			skipped = skipped || b[v.start] != '"'
		}
		if !ok {
			return h, false
		}
	}
	// The walk checked every name and string, and parseEPK the epk object;
	// anything else (the usual header has nothing else) was only skipped.
	if it.bad || skipped && !json.Valid(b) {
		return h, false
	}
	return h, len(h.alg) > 0 && len(h.enc) > 0 && len(h.kid) > 0
}

// parseEPK walks the "epk" object. Members other than kty, crv, x and y ("d",
// "kid", differently cased names) are refused: different JOSE parsers read such
// objects differently.
func parseEPK(it *objIter) (kty, crv, x, y []byte, hasY, ok bool) {
	var spans [4]span
	seen := seenKeys{spans: spans[:]}
	for {
		k, v, more := it.next()
		if !more {
			break
		}
		if !seen.add(it.b, k) {
			return nil, nil, nil, nil, false, false
		}
		switch string(it.b[k.start:k.end]) {
		case "kty":
			kty, ok = it.str(v)
		case "crv":
			crv, ok = it.str(v)
		case "x":
			x, ok = it.str(v)
		case "y":
			y, ok = it.str(v)
			hasY = true
		default:
			ok = false
		}
		if !ok {
			return nil, nil, nil, nil, false, false
		}
	}
	return kty, crv, x, y, hasY, !it.bad
}

// allowedAlgEnc is the allow-list: the key-management algorithms and content
// encryptions this package decrypts. It returns the content key size in bytes.
func allowedAlgEnc(alg, enc []byte) (keyLen int, ok bool) {
	switch string(alg) {
	case AlgECDHES, AlgECDHESA256KW, AlgRSAOAEP256:
	default:
		return 0, false
	}
	switch string(enc) {
	case "A256GCM":
		return 32, true
	case "A128GCM":
		return 16, true
	}
	return 0, false
}
