package jwe

// Limits on a BT-ENCRYPTED header value.
const (
	// MaxBTEncryptedSize is the largest BT-ENCRYPTED value accepted (the base64
	// text), checked before decoding. Each JWE inside is also held to MaxJWESize.
	MaxBTEncryptedSize = 1 << 20
	// MaxAliases is the most tokens one BT-ENCRYPTED value may carry.
	MaxAliases = 100
)

// ParseBTEncrypted decrypts the value of a BT-ENCRYPTED header: base64
// (standard or URL alphabet, padded or not) of either
//
//	{"type": "<token type>", "encrypted": "<compact JWE>"}
//
// or a map of those by alias,
//
//	{"<alias>": {"type": …, "encrypted": …}, …}   (1 to MaxAliases aliases)
//
// and returns JSON for expressions: {"type": …, "data": <plaintext>} for one
// token, {"<alias>": {"type": …, "data": …}, …} for several, so that JSON paths
// such as $.data.number or $.tokenA.data.number select inside the data.
// Members other than those named are refused, as are duplicate or escaped
// names. Every failure, including one bad JWE among many, returns ErrDecrypt.
//
// The result is a new buffer owned by the caller; it holds plaintext, so clear
// it once used. Intermediate plaintexts are zeroed before return.
func ParseBTEncrypted(header []byte, lookup KeyLookup) ([]byte, error) {
	out, _, err := parseBTEncrypted(header, lookup, nil)
	return out, err
}

// btEntry is one token of a BT-ENCRYPTED value; spans index the decoded JSON.
type btEntry struct {
	alias, typ, jwe span
	data            []byte
}

func parseBTEncrypted(v []byte, lookup KeyLookup, cache *keyCache) (out []byte, alg string, err error) {
	alg = AlgOther
	v = trimSpace(v)
	if len(v) == 0 || len(v) > MaxBTEncryptedSize || lookup == nil {
		return nil, alg, ErrDecrypt
	}
	raw, ok := decodeAnyBase64(v)
	if !ok {
		return nil, alg, ErrDecrypt
	}
	var one [1]btEntry // the single form, read by sdkBTToken
	entries, single := one[:], true
	if one[0].typ, one[0].jwe, ok = sdkBTToken(raw); !ok {
		entries, single, ok = btEntries(raw)
	}
	if !ok {
		return nil, alg, ErrDecrypt
	}

	wipe := func() {
		for i := range entries {
			clear(entries[i].data)
		}
	}
	size := 2 // {}
	for i := range entries {
		e := &entries[i]
		data, a, err := decrypt(raw[e.jwe.start:e.jwe.end], lookup, cache)
		if i == 0 {
			alg = a
		}
		if err != nil {
			wipe()
			return nil, alg, ErrDecrypt
		}
		e.data = data
		size += len(`"type":,"data":`) + (e.typ.end - e.typ.start) + len(data)
		if !single {
			size += len(`"":{},`) + (e.alias.end - e.alias.start)
		}
	}

	out = make([]byte, 0, size) // final size: appends below never reallocate
	out = append(out, '{')
	for i, e := range entries {
		if i > 0 {
			out = append(out, ',')
		}
		if !single {
			out = append(out, '"')
			out = append(out, raw[e.alias.start:e.alias.end]...)
			out = append(out, `":{`...)
		}
		out = append(out, `"type":`...)
		out = append(out, raw[e.typ.start:e.typ.end]...)
		out = append(out, `,"data":`...)
		out = append(out, e.data...)
		if !single {
			out = append(out, '}')
		}
	}
	out = append(out, '}')
	wipe()
	return out, alg, nil
}

// btEntries reads the decoded JSON of a BT-ENCRYPTED value and checks it as it
// walks (every value it accepts is a string it checked or an object it walked),
// so whatever it accepts is valid JSON (FuzzBTEntriesAcceptsOnlyValidJSON). The
// single form is recognized by its first member's value being a string — in
// the map form every value is an object; either form refuses the other's
// members, so a value mixing the two is refused whichever its first member
// (TestParseBTEncryptedRejectsMixedForms).
func btEntries(raw []byte) (entries []btEntry, single, ok bool) {
	it, ok := newObjIter(raw)
	if !ok {
		return nil, false, false
	}
	if probe := it; probe.nameOK() && probe.isString() {
		typ, jwe, ok := btToken(&it)
		if !ok {
			return nil, false, false
		}
		return []btEntry{{typ: typ, jwe: jwe}}, true, true
	}

	var spans [MaxAliases]span
	seen := seenKeys{spans: spans[:]}
	for {
		k, more := it.name()
		if !more {
			break
		}
		if k.start == k.end || !seen.add(raw, k) { // empty, duplicate or too many
			return nil, false, false
		}
		tok, ok := it.object()
		if !ok {
			return nil, false, false
		}
		typ, jwe, ok := btToken(&tok)
		if !ok || !it.endObject(&tok) {
			return nil, false, false
		}
		entries = append(entries, btEntry{alias: k, typ: typ, jwe: jwe})
	}
	if it.bad || len(entries) == 0 {
		return nil, false, false
	}
	return entries, false, true
}

// btToken walks {"type": <string>, "encrypted": <string>} and returns the raw
// type value (quotes included, escapes allowed: it is copied verbatim) and the
// JWE without quotes.
func btToken(it *objIter) (typ, jwe span, ok bool) {
	b := it.b
	var hasType, hasJWE bool
	for {
		k, v, more := it.next()
		if !more {
			break
		}
		switch string(b[k.start:k.end]) {
		case "type":
			if hasType || b[v.start] != '"' {
				return typ, jwe, false
			}
			typ, hasType = v, true
		case "encrypted":
			if _, ok := it.str(v); hasJWE || !ok {
				return typ, jwe, false
			}
			jwe, hasJWE = span{v.start + 1, v.end - 1}, true
		default:
			return typ, jwe, false
		}
	}
	return typ, jwe, !it.bad && hasType && hasJWE
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// decodeAnyBase64 decodes standard or URL-safe base64, padded or not. Mixed
// alphabets, misplaced or excess padding, and any other byte (including line
// breaks, which encoding/base64 would skip) are refused. The standard alphabet
// is tried first (what clients send); a byte outside it means another pass in
// the URL-safe one, so a value mixing both fails both.
func decodeAnyBase64(v []byte) ([]byte, bool) {
	pad := 0
	for pad < 2 && len(v) > 0 && v[len(v)-1] == '=' {
		v = v[:len(v)-1]
		pad++
	}
	if pad > 0 && (len(v)+pad)%4 != 0 {
		return nil, false
	}
	out := make([]byte, b64DecodedLen(len(v)))
	n, ok := decodeB64(out, v, b64StdDec)
	if !ok {
		n, ok = decodeB64(out, v, b64URLDec)
	}
	if !ok {
		return nil, false
	}
	return out[:n], true
}
