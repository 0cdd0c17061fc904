package expr

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

type filterOp uint8

const (
	fJSON filterOp = iota + 1
	fStringify
	fLast4
	fPadLeft
	fPadRight
	fReveal
	fRevealLast
	fCardBin
	fCardExp
	fCardMask
	fToBoolean
	fToNumber
	fToString
	fHMAC
	fToBase64
	fToBase16
	fUpcase
	fDowncase
	fSlice
	fReplace
	fRemove
	fAppend
	fPrepend
	fDefault
	fDateFormat
	fPrefix
	fSuffix
	fHMACSHA256
	fToASCII

	// Liquid's standard filters (liquid.go, math.go).
	fSplit
	fFirst
	fLast
	fSize
	fJoin
	fStrip
	fLStrip
	fRStrip
	fTruncate
	fCapitalize
	fReplaceFirst
	fURLEncode
	fURLDecode
	fPlus
	fMinus
	fTimes
	fDividedBy
	fModulo
	fAbs
	fRound
	fDate

	fEncrypt // encrypt.go
)

type argType uint8

const (
	tStr  argType = iota + 1 // a string; config.NAME allowed
	tLit                     // a literal string
	tInt                     // an integer (number or numeric string)
	tChar                    // exactly one character
	tBool                    // true/false, quoted or not
	tAny                     // string, number or boolean; config.NAME allowed
	tPath                    // a JSONPath string
	tFmt                     // a strftime format string
	tHex                     // a hex key; config.NAME allowed
	tNum                     // a number (literal or numeric string)
)

func (t argType) configOK() bool { return t == tStr || t == tAny || t == tHex }

type filterSpec struct {
	name     string
	op       filterOp
	min, max int
	types    [maxArgs]argType
}

// filterSpecs is every filter, with both vendors' spellings.
var filterSpecs = [...]filterSpec{
	{name: "json", op: fJSON, min: 1, max: 1, types: [maxArgs]argType{tPath}},
	{name: "json_stringify", op: fStringify},
	{name: "stringify", op: fStringify},
	{name: "last4", op: fLast4},
	{name: "pad_left", op: fPadLeft, min: 2, max: 2, types: [maxArgs]argType{tInt, tChar}},
	{name: "pad_right", op: fPadRight, min: 2, max: 2, types: [maxArgs]argType{tInt, tChar}},
	{name: "reveal", op: fReveal, max: 4, types: [maxArgs]argType{tInt, tInt, tChar, tLit}},
	{name: "reveal_last", op: fRevealLast, min: 1, max: 2, types: [maxArgs]argType{tInt, tChar}},
	{name: "card_bin", op: fCardBin, max: 1, types: [maxArgs]argType{tLit}},
	{name: "card_exp", op: fCardExp, min: 1, max: 1, types: [maxArgs]argType{tLit}},
	{name: "card_mask", op: fCardMask, max: 4, types: [maxArgs]argType{tBool, tBool, tChar, tLit}},
	{name: "to_boolean", op: fToBoolean},
	{name: "to_number", op: fToNumber},
	{name: "to_string", op: fToString},
	{name: "hmac", op: fHMAC, min: 1, max: 2, types: [maxArgs]argType{tLit, tStr}},
	{name: "to_base64", op: fToBase64},
	{name: "to_base16", op: fToBase16},
	{name: "upcase", op: fUpcase},
	{name: "to_uppercase", op: fUpcase},
	{name: "downcase", op: fDowncase},
	{name: "to_lowercase", op: fDowncase},
	{name: "slice", op: fSlice, min: 1, max: 2, types: [maxArgs]argType{tInt, tInt}},
	{name: "replace", op: fReplace, min: 1, max: 2, types: [maxArgs]argType{tStr, tStr}},
	{name: "remove", op: fRemove, min: 1, max: 1, types: [maxArgs]argType{tStr}},
	{name: "append", op: fAppend, min: 1, max: 1, types: [maxArgs]argType{tStr}},
	{name: "prepend", op: fPrepend, min: 1, max: 1, types: [maxArgs]argType{tStr}},
	{name: "default", op: fDefault, min: 1, max: 1, types: [maxArgs]argType{tAny}},
	{name: "date_format", op: fDateFormat, min: 2, max: 2, types: [maxArgs]argType{tFmt, tFmt}},
	{name: "prefix", op: fPrefix, min: 1, max: 1, types: [maxArgs]argType{tInt}},
	{name: "suffix", op: fSuffix, min: 1, max: 1, types: [maxArgs]argType{tInt}},
	{name: "hmac_sha256", op: fHMACSHA256, min: 1, max: 1, types: [maxArgs]argType{tHex}},
	{name: "to_ascii", op: fToASCII},

	{name: "split", op: fSplit, min: 1, max: 1, types: [maxArgs]argType{tLit}},
	{name: "first", op: fFirst},
	{name: "last", op: fLast},
	{name: "size", op: fSize},
	{name: "join", op: fJoin, max: 1, types: [maxArgs]argType{tLit}},
	{name: "strip", op: fStrip},
	{name: "lstrip", op: fLStrip},
	{name: "rstrip", op: fRStrip},
	{name: "truncate", op: fTruncate, max: 2, types: [maxArgs]argType{tInt, tLit}},
	{name: "capitalize", op: fCapitalize},
	{name: "replace_first", op: fReplaceFirst, min: 1, max: 2, types: [maxArgs]argType{tStr, tStr}},
	{name: "url_encode", op: fURLEncode},
	{name: "url_decode", op: fURLDecode},
	{name: "plus", op: fPlus, min: 1, max: 1, types: [maxArgs]argType{tNum}},
	{name: "minus", op: fMinus, min: 1, max: 1, types: [maxArgs]argType{tNum}},
	{name: "times", op: fTimes, min: 1, max: 1, types: [maxArgs]argType{tNum}},
	{name: "divided_by", op: fDividedBy, min: 1, max: 1, types: [maxArgs]argType{tNum}},
	{name: "modulo", op: fModulo, min: 1, max: 1, types: [maxArgs]argType{tNum}},
	{name: "abs", op: fAbs},
	{name: "round", op: fRound, max: 1, types: [maxArgs]argType{tInt}},
	{name: "date", op: fDate, min: 1, max: 1, types: [maxArgs]argType{tFmt}},

	{name: "encrypt", op: fEncrypt, min: 2, max: 2, types: [maxArgs]argType{tLit, tLit}},
}

func lookupFilter(name []byte) *filterSpec {
	for i := range filterSpecs {
		if filterSpecs[i].name == string(name) {
			return &filterSpecs[i]
		}
	}
	return nil
}

// kind is the type of a value flowing through a filter chain.
type kind uint8

const (
	kNull   kind = iota
	kString      // b: UTF-8 text (decoded)
	kNumber      // b: a JSON number literal
	kBool        // b: "true" or "false"
	kRaw         // b: JSON text of an object or array
	kBytes       // b: binary (hmac output)
)

// value is an intermediate value. b points into an Env document, the
// expression text, or one of the renderer's scratch buffers.
type value struct {
	k    kind
	b    []byte
	raw  []byte // kString straight from a JSON document: its JSON text
	cast bool   // produced by to_number/to_boolean: keeps its JSON type
	// plain: a kString whose b is raw's content and needs no JSON escaping (raw is '"' b '"').
	// Set by fromJSON only; eval clears it before each filter, emit copies such a value whole.
	plain bool
}

// ferr is an evaluation failure: a sentinel and a value-free detail. Only
// ids (unknown configuration values) and sizes of whole documents cause one,
// never what a filter finds in a value.
type ferr struct {
	err    error
	detail string
	id     []byte
}

func valueErr(detail string) *ferr { return &ferr{err: ErrValue, detail: detail} }

var errTooLarge = &ferr{err: ErrTooLarge, detail: "value over the size limit"}

// null is what a filter makes of a value it cannot convert (Liquid's
// leniency): failing instead would let a caller learn the value from whether
// the request fails.
var null = value{}

// textOf returns the textual form of v for string filters: strings as they
// are, numbers and booleans as written; false for objects, arrays and bytes.
func textOf(v value) ([]byte, bool) {
	switch v.k {
	case kString, kNumber, kBool:
		return v.b, true
	}
	return nil, false
}

func str(b []byte) value { return value{k: kString, b: b} }

// apply runs one filter on v. out is an empty scratch buffer that does not
// overlap v; the result may live in out, in v's memory or in the arguments.
func (r *Renderer) apply(c *call, v value, out []byte, env Env) (value, []byte, *ferr) {
	sp := c.spec
	a := &c.args
	switch {
	case sp.op == fEncrypt:
		return applyEncrypt(c, v, out)
	case sp.op >= fSplit:
		return r.applyLiquid(c, v, out, env)
	}
	if v.k == kNull {
		switch sp.op {
		case fDefault:
		case fAppend, fPrepend:
			v = str(nil)
		default:
			return v, out, nil
		}
	}
	switch sp.op {
	case fJSON:
		return r.applyJSON(c, v, out)
	case fStringify:
		switch v.k {
		case kRaw:
			o, ok := appendCompactJSON(out, v.b)
			if !ok {
				return v, out, valueErr("token data is not valid JSON")
			}
			return str(o), o, nil
		case kBytes:
			return null, out, nil
		}
		return str(v.b), out, nil
	case fToString:
		if v.k == kRaw || v.k == kBytes {
			return null, out, nil
		}
		return str(v.b), out, nil
	case fToNumber:
		return toNumber(v, out)
	case fToBoolean:
		return toBoolean(v, out)
	case fDefault:
		if v.k == kNull || (v.k == kString && len(v.b) == 0) || (v.k == kBool && v.b[0] == 'f') || (v.k == kRaw && isEmptyJSON(v.b)) {
			return r.argValue(&a[0], env)
		}
		return v, out, nil
	case fCardExp:
		v = cardExp(v, a[0].s, out)
		return v, v.b, nil
	case fToBase64:
		if v.k == kRaw && !gjson.ValidBytes(v.b) {
			return v, out, valueErr("token data is not valid JSON")
		}
		o := base64.StdEncoding.AppendEncode(out, v.b)
		return str(o), o, nil
	case fToBase16:
		o := appendHexUpper(out, v.b)
		return str(o), o, nil
	case fHMAC:
		key, fe := r.argText(&c.key, env)
		if fe != nil {
			return v, out, fe
		}
		if v.k == kBytes {
			return null, out, nil
		}
		var o []byte
		o, r.hbuf = appendHMAC(out, r.hbuf, c.alg, key, v.b)
		return value{k: kBytes, b: o}, o, nil
	}

	s, ok := textOf(v)
	if !ok {
		return null, out, nil
	}
	switch sp.op {
	case fLast4:
		return str(lastRunes(s, 4)), out, nil
	case fPrefix:
		return str(firstRunes(s, int(a[0].n))), out, nil
	case fSuffix:
		return str(lastRunes(s, int(a[0].n))), out, nil
	case fPadLeft, fPadRight:
		n := int(a[0].n) - utf8.RuneCount(s)
		if n <= 0 {
			return str(s), out, nil
		}
		pad := a[1].text()
		if sp.op == fPadRight {
			out = append(out, s...)
		}
		for ; n > 0; n-- {
			out = append(out, pad...)
		}
		if sp.op == fPadLeft {
			out = append(out, s...)
		}
		return str(out), out, nil
	case fReveal:
		first, last := int64(0), int64(0)
		mask, preserve := []byte("X"), []byte(nil)
		if c.nargs > 0 {
			first = a[0].n
		}
		if c.nargs > 1 {
			last = a[1].n
		}
		if c.nargs > 2 {
			mask = a[2].text()
		}
		if c.nargs > 3 {
			preserve = a[3].s
		}
		o := reveal(out, s, first, last, mask, preserve)
		return str(o), o, nil
	case fRevealLast:
		mask := []byte("X")
		if c.nargs > 1 {
			mask = a[1].text()
		}
		n := utf8.RuneCount(s)
		if int64(n) <= a[0].n {
			return str(s), out, nil
		}
		o := reveal(out, s, 0, a[0].n, mask, nil)
		return str(o), o, nil
	case fCardBin:
		var sep []byte
		if c.nargs > 0 {
			sep = a[0].s
		}
		o := cardBin(s, sep, out)
		if o == nil {
			return null, out, nil
		}
		return str(o), o, nil
	case fCardMask:
		bin, last4 := false, false
		mask, preserve := []byte("X"), []byte(nil)
		if c.nargs > 0 {
			bin = a[0].b
		}
		if c.nargs > 1 {
			last4 = a[1].b
		}
		if c.nargs > 2 {
			mask = a[2].text()
		}
		if c.nargs > 3 {
			preserve = a[3].s
		}
		o := cardMask(out, s, bin, last4, mask, preserve)
		return str(o), o, nil
	case fUpcase:
		o := appendCase(out, s, true)
		return str(o), o, nil
	case fDowncase:
		o := appendCase(out, s, false)
		return str(o), o, nil
	case fToASCII:
		o := appendASCII(out, s)
		return str(o), o, nil
	case fSlice:
		length := int64(1)
		if c.nargs > 1 {
			length = a[1].n
		}
		return str(sliceRunes(s, a[0].n, length)), out, nil
	case fReplace, fRemove:
		old, fe := r.argText(&a[0], env)
		if fe != nil {
			return v, out, fe
		}
		if len(old) == 0 { // an empty configured search string finds nothing
			return str(s), out, nil
		}
		var repl []byte
		if sp.op == fReplace && c.nargs > 1 {
			if repl, fe = r.argText(&a[1], env); fe != nil {
				return v, out, fe
			}
		}
		o := appendReplace(out, s, old, repl)
		return str(o), o, nil
	case fAppend, fPrepend:
		t, fe := r.argText(&a[0], env)
		if fe != nil {
			return v, out, fe
		}
		if sp.op == fAppend {
			out = append(append(out, s...), t...)
		} else {
			out = append(append(out, t...), s...)
		}
		return str(out), out, nil
	case fDateFormat:
		tm, ok := parseStrftime(a[0].s, s)
		if !ok {
			return null, out, nil
		}
		o := appendStrftime(out, a[1].s, tm)
		return str(o), o, nil
	case fHMACSHA256:
		key, fe := r.argText(&c.key, env)
		if fe != nil {
			return v, out, fe
		}
		if c.key.kind == argConfig {
			// A configured key is hex too; decode it into the hmac buffer's
			// tail so it does not overlap the output.
			k, ok := decodeHex(r.kbuf[:0], key)
			if !ok {
				return null, out, nil
			}
			r.kbuf = k
			key = k
		}
		var sum []byte
		sum, r.hbuf = appendHMAC(r.sum[:0], r.hbuf, algSHA256, key, s)
		o := appendHexLower(out, sum)
		return str(o), o, nil
	}
	return null, out, nil
}

// isEmptyJSON reports whether doc is an empty array or object, which
// default replaces as Liquid does.
func isEmptyJSON(doc []byte) bool {
	doc = trimSpace(doc)
	if len(doc) < 2 || (doc[0] != '[' && doc[0] != '{') {
		return false
	}
	return len(trimSpace(doc[1:len(doc)-1])) == 0
}

// argValue returns a filter argument as a value (for default).
func (r *Renderer) argValue(a *arg, env Env) (value, []byte, *ferr) {
	switch a.kind {
	case argNum:
		if validNumber(a.s) {
			return value{k: kNumber, b: a.s}, nil, nil
		}
		return str(a.s), nil, nil
	case argBool:
		return value{k: kBool, b: a.text()}, nil, nil
	}
	t, fe := r.argText(a, env)
	return str(t), nil, fe
}

// argText returns a string argument, resolving config.NAME through env.
func (r *Renderer) argText(a *arg, env Env) ([]byte, *ferr) {
	if a.kind == argMessage {
		return messageArg(a, env)
	}
	if a.kind != argConfig {
		return a.text(), nil
	}
	v, ok := env.Config(a.s)
	if !ok {
		return nil, &ferr{err: ErrUnknownConfig, detail: "unknown configuration value", id: a.s}
	}
	return v, nil
}

// proxySource names the document proxy.request.… arguments read.
var proxySource = []byte("proxy")

// messageArgDoc is the proxy document through env, if it supplies one.
func messageArgDoc(env Env) ([]byte, bool) {
	menv, ok := env.(MessageEnv)
	if !ok {
		return nil, false
	}
	doc, ok := menv.Message(RefMessage, proxySource)
	if ok && len(doc) > MaxSourceLen {
		return nil, false
	}
	return doc, ok
}

// messageArg is a proxy.request.… argument: the member of the proxy document it names as text
// (a string unquoted, anything else as JSON), "" when there is no such member (Liquid's nil).
func messageArg(a *arg, env Env) ([]byte, *ferr) {
	doc, ok := messageArgDoc(env)
	if !ok {
		return nil, &ferr{err: ErrUnknownSource, detail: "no message source \"proxy\" here", id: proxySource}
	}
	res := gjson.GetBytes(doc, bstr(a.s))
	switch res.Type {
	case gjson.Null:
		return nil, nil
	case gjson.String:
		return []byte(res.Str), nil
	}
	return []byte(res.Raw), nil
}

func (r *Renderer) applyJSON(c *call, v value, out []byte) (value, []byte, *ferr) {
	var doc []byte
	switch v.k {
	case kRaw, kNumber, kBool:
		doc = v.b
	case kString:
		doc = v.raw
	case kBytes:
		return null, out, nil
	}
	if c.root {
		return v, out, nil
	}
	if doc == nil || v.k != kRaw {
		return value{}, out, nil // a scalar has no members
	}
	return r.fromJSON(doc, c.path, out)
}

// fromField is fromJSON for the dotted path of a source (nil: the whole
// document). Footprint's field identifiers are flat keys ("id.first_name" is
// one key), so a path with dots is first looked up as one key of an object,
// then as nested keys. A path that selects nothing is null, or with
// SetStrictFields ErrMissingField naming it (a field's presence is not a
// secret; its value is never in the error).
func (r *Renderer) fromField(doc, path, out []byte) (value, []byte, *ferr) {
	if path == nil {
		return r.fromJSON(doc, nil, out)
	}
	raw := trimSpace(doc)
	var res gjson.Result
	if len(raw) > 0 && raw[0] == '{' && bytes.IndexByte(path, '.') >= 0 {
		res = flatKey(raw, path)
	}
	if !res.Exists() && len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
		res = gjson.Get(bstr(raw), bstr(path))
	}
	if !res.Exists() {
		if !r.strict {
			return value{}, out, nil
		}
		return value{}, out, &ferr{err: ErrMissingField, detail: "field " + strconv.Quote(string(path)) + " is missing"}
	}
	return r.fromJSON(sbytes(res.Raw), nil, out)
}

// flatKey is the member of the JSON object obj whose key is path itself, dots included. Path
// segments hold only ValidID bytes, which JSON never needs to escape, so the key is compared as
// written.
func flatKey(obj, path []byte) gjson.Result {
	var found gjson.Result
	gjson.Parse(bstr(obj)).ForEach(func(k, v gjson.Result) bool {
		if key := k.Raw; len(key) == len(path)+2 && key[1:len(key)-1] == bstr(path) {
			found = v
			return false
		}
		return true
	})
	return found
}

// fromJSON selects path (gjson syntax; nil = the whole document) in doc and
// classifies the result. Strings are decoded into out.
func (r *Renderer) fromJSON(doc, path, out []byte) (value, []byte, *ferr) {
	raw := trimSpace(doc)
	if path != nil {
		if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
			return value{}, out, nil // a scalar has no members (gjson would look inside a string)
		}
		res := gjson.Get(bstr(doc), bstr(path))
		if !res.Exists() {
			return value{}, out, nil
		}
		raw = sbytes(res.Raw)
	}
	if len(raw) == 0 {
		return value{}, out, valueErr("token data is not valid JSON")
	}
	switch c := raw[0]; {
	case c == '"':
		if b, ok := plainJSONString(raw); ok { // nothing to decode: a view, no copy
			return value{k: kString, b: b, raw: raw, plain: true}, out, nil
		}
		o, ok := appendUnquoteJSON(out, raw)
		if !ok {
			return value{}, out, valueErr("token data is not valid JSON")
		}
		return value{k: kString, b: o, raw: raw}, o, nil
	case c == '{' || c == '[':
		return value{k: kRaw, b: raw}, out, nil
	case c == 't' || c == 'f':
		if string(raw) != "true" && string(raw) != "false" {
			return value{}, out, valueErr("token data is not valid JSON")
		}
		return value{k: kBool, b: raw}, out, nil
	case c == 'n':
		if string(raw) != "null" {
			return value{}, out, valueErr("token data is not valid JSON")
		}
		return value{}, out, nil
	default:
		if !validNumber(raw) {
			return value{}, out, valueErr("token data is not valid JSON")
		}
		return value{k: kNumber, b: raw}, out, nil
	}
}

func toNumber(v value, out []byte) (value, []byte, *ferr) {
	switch v.k {
	case kNumber:
		v.cast, v.raw = true, nil
		return v, out, nil
	case kString:
		s := trimSpace(v.b)
		if validNumber(s) {
			return value{k: kNumber, b: s, cast: true}, out, nil
		}
		f, err := strconv.ParseFloat(bstr(s), 64)
		if err != nil || len(s) == 0 || !isNumeric(s) {
			return null, out, nil
		}
		o := strconv.AppendFloat(out, f, 'g', -1, 64)
		return value{k: kNumber, b: o, cast: true}, o, nil
	}
	return null, out, nil
}

// isNumeric refuses what ParseFloat accepts but a number is not (Inf, NaN,
// hex floats, underscores).
func isNumeric(s []byte) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

func toBoolean(v value, out []byte) (value, []byte, *ferr) {
	switch v.k {
	case kBool:
		v.cast, v.raw = true, nil
		return v, out, nil
	case kString:
		s := trimSpace(v.b)
		switch {
		case equalFold(s, "true"):
			return value{k: kBool, b: litTrue, cast: true}, out, nil
		case equalFold(s, "false"):
			return value{k: kBool, b: litFalse, cast: true}, out, nil
		}
	case kNumber:
		f, err := strconv.ParseFloat(bstr(v.b), 64)
		if err == nil {
			if f != 0 {
				return value{k: kBool, b: litTrue, cast: true}, out, nil
			}
			return value{k: kBool, b: litFalse, cast: true}, out, nil
		}
	}
	return null, out, nil
}

// firstRunes returns the first n characters of s.
func firstRunes(s []byte, n int) []byte {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRune(s[i:])
		i += size
	}
	return s[:i]
}

// lastRunes returns the last n characters of s.
func lastRunes(s []byte, n int) []byte {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRune(s[:i])
		i -= size
	}
	return s[i:]
}

// sliceRunes is Liquid's slice on characters: a negative offset counts from
// the end; out-of-range offsets give an empty string.
func sliceRunes(s []byte, offset, length int64) []byte {
	n := int64(utf8.RuneCount(s))
	if offset < 0 {
		offset += n
	}
	if offset < 0 || offset >= n || length <= 0 {
		return s[:0]
	}
	rest := s[len(firstRunes(s, int(offset))):]
	if length > n-offset {
		length = n - offset
	}
	return firstRunes(rest, int(length))
}

// reveal masks every character of s except the first `first` and the last
// `last` ones and the characters in preserve. If nothing would be masked
// (s too short, or all preserved), every character is masked.
func reveal(out, s []byte, first, last int64, mask, preserve []byte) []byte {
	n := int64(utf8.RuneCount(s))
	start := len(out)
	all := n <= first+last
	masked := false
	var k int64
	for i := 0; i < len(s); k++ {
		r, size := utf8.DecodeRune(s[i:])
		ch := s[i : i+size]
		i += size
		switch {
		case all:
			out = append(out, mask...)
			masked = true
		case k < first || k >= n-last:
			out = append(out, ch...)
		case len(preserve) > 0 && containsRune(preserve, r):
			out = append(out, ch...)
		default:
			out = append(out, mask...)
			masked = true
		}
	}
	if !masked && n > 0 {
		out = out[:start]
		for j := int64(0); j < n; j++ {
			out = append(out, mask...)
		}
	}
	return out
}

func containsRune(set []byte, r rune) bool {
	if r < utf8.RuneSelf {
		return bytes.IndexByte(set, byte(r)) >= 0
	}
	for i := 0; i < len(set); {
		c, size := utf8.DecodeRune(set[i:])
		if c == r {
			return true
		}
		i += size
	}
	return false
}

// cardMask masks a card number; see the package documentation.
func cardMask(out, s []byte, bin, last4 bool, mask, preserve []byte) []byte {
	n := utf8.RuneCount(s)
	if len(preserve) > 0 {
		n = 0
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRune(s[i:])
			if !containsRune(preserve, r) {
				n++
			}
			i += size
		}
	}
	binLen := 6
	if n >= 16 {
		binLen = 8
	}
	start := len(out)
	masked := false
	k := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		ch := s[i : i+size]
		i += size
		if len(preserve) > 0 && containsRune(preserve, r) {
			out = append(out, ch...)
			continue
		}
		if (bin && k < binLen) || (last4 && k >= n-4) {
			out = append(out, ch...)
		} else {
			out = append(out, mask...)
			masked = true
		}
		k++
	}
	if !masked && len(s) > 0 {
		out = out[:start]
		for range utf8.RuneCount(s) {
			out = append(out, mask...)
		}
	}
	return out
}

// cardBin appends the card's BIN to out: the first 6 digits when the number
// has fewer than 16 digits, 8 otherwise. Characters in sep are skipped. It
// returns nil when s is not a card number.
func cardBin(s, sep, out []byte) []byte {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		i += size
		switch {
		case '0' <= r && r <= '9':
			n++
		case len(sep) > 0 && containsRune(sep, r):
		default:
			return nil
		}
	}
	binLen := 6
	if n >= 16 {
		binLen = 8
	}
	if n < binLen {
		return nil
	}
	for i := 0; i < len(s) && binLen > 0; i++ {
		if '0' <= s[i] && s[i] <= '9' {
			out = append(out, s[i])
			binLen--
		}
	}
	return out
}

// cardExp formats a card's expiration date. The value is a card object
// (expiration_month, expiration_year) or a token object with one in data.
// Tokens in format: YYYY (4-digit year), YY (2-digit year), MM (2-digit
// month); everything else is copied.
// It returns null when v has no valid expiration date.
func cardExp(v value, format, out []byte) value {
	if v.k != kRaw {
		return null
	}
	doc := bstr(v.b)
	m := gjson.Get(doc, "expiration_month")
	y := gjson.Get(doc, "expiration_year")
	if !m.Exists() || !y.Exists() {
		m = gjson.Get(doc, "data.expiration_month")
		y = gjson.Get(doc, "data.expiration_year")
	}
	month, ok1 := jsonInt(m)
	year, ok2 := jsonInt(y)
	if !ok1 || !ok2 || month < 1 || month > 12 || year < 0 || year > 9999 {
		return null
	}
	if year < 100 {
		year += 2000
	}
	for i := 0; i < len(format); {
		switch {
		case hasPrefix(format[i:], "YYYY"):
			out = appendPad(out, year, 4)
			i += 4
		case hasPrefix(format[i:], "YY"):
			out = appendPad(out, year%100, 2)
			i += 2
		case hasPrefix(format[i:], "MM"):
			out = appendPad(out, month, 2)
			i += 2
		default:
			out = append(out, format[i])
			i++
		}
	}
	return str(out)
}

// jsonInt reads an integer that is a JSON number or a numeric string.
func jsonInt(r gjson.Result) (int, bool) {
	var s string
	switch r.Type {
	case gjson.Number:
		s = r.Raw
	case gjson.String:
		s = r.Str
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func appendPad(out []byte, n, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], int64(n), 10)
	for k := len(d); k < width; k++ {
		out = append(out, '0')
	}
	return append(out, d...)
}

func appendCase(out, s []byte, upper bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case upper && 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			case !upper && 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, c)
			i++
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
		} else {
			r = unicode.ToLower(r)
		}
		out = utf8.AppendRune(out, r)
		i += size
	}
	return out
}

func appendReplace(out, s, old, repl []byte) []byte {
	for {
		i := bytes.Index(s, old)
		if i < 0 {
			return append(out, s...)
		}
		out = append(out, s[:i]...)
		out = append(out, repl...)
		s = s[i+len(old):]
	}
}

const hexUpper = "0123456789ABCDEF"
const hexLower = "0123456789abcdef"

func appendHexUpper(out, b []byte) []byte {
	for _, c := range b {
		out = append(out, hexUpper[c>>4], hexUpper[c&15])
	}
	return out
}

func appendHexLower(out, b []byte) []byte {
	for _, c := range b {
		out = append(out, hexLower[c>>4], hexLower[c&15])
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func decodeHex(out, s []byte) ([]byte, bool) {
	s = trimSpace(s)
	if len(s) == 0 || len(s)%2 != 0 {
		return out, false
	}
	for i := 0; i < len(s); i += 2 {
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return out, false
		}
		out = append(out, hi<<4|lo)
	}
	return out, true
}
