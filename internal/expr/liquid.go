package expr

import (
	"bytes"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Liquid's standard filters with Shopify's (Ruby) semantics, lenient as the
// rest: what a filter cannot use becomes null. Arrays are JSON arrays (kRaw),
// from a token's data or from split.

// applyLiquid runs the Liquid filters of filterSpecs (fSplit and after).
func (r *Renderer) applyLiquid(c *call, v value, out []byte, env Env) (value, []byte, *ferr) {
	a := &c.args
	switch c.spec.op {
	case fSize:
		if v.k == kNull {
			o := append(out, '0')
			return value{k: kNumber, b: o}, o, nil
		}
		n, ok := sizeOf(v)
		if !ok {
			return null, out, nil
		}
		o := strconv.AppendInt(out, int64(n), 10)
		return value{k: kNumber, b: o}, o, nil
	case fPlus, fMinus, fTimes, fDividedBy, fModulo, fAbs, fRound:
		return applyMath(c, v, out)
	}
	if v.k == kNull {
		return v, out, nil
	}
	if v.k == kRaw {
		switch c.spec.op {
		case fFirst, fLast:
			return r.arrayEnd(v.b, c.spec.op == fLast, out)
		case fJoin:
			o, ok := appendJoinJSON(out, v.b, joinGlue(c, 0))
			if !ok {
				return null, out, nil
			}
			return str(o), o, nil
		}
		return null, out, nil
	}
	s, ok := textOf(v)
	if !ok {
		return null, out, nil
	}
	switch c.spec.op {
	case fSplit:
		return applySplit(c, s, out)
	case fFirst:
		return str(firstRunes(s, 1)), out, nil
	case fLast:
		return str(lastRunes(s, 1)), out, nil
	case fJoin: // a string is an array of one
		return str(s), out, nil
	case fStrip:
		return str(trimRubySpace(s, true, true)), out, nil
	case fLStrip:
		return str(trimRubySpace(s, true, false)), out, nil
	case fRStrip:
		return str(trimRubySpace(s, false, true)), out, nil
	case fTruncate:
		o := appendTruncate(out, s, c)
		return str(o), o, nil
	case fCapitalize:
		o := appendCapitalized(out, s)
		return str(o), o, nil
	case fReplaceFirst:
		old, fe := r.argText(&a[0], env)
		if fe != nil {
			return v, out, fe
		}
		var repl []byte
		if c.nargs > 1 {
			if repl, fe = r.argText(&a[1], env); fe != nil {
				return v, out, fe
			}
		}
		i := bytes.Index(s, old)
		if len(old) == 0 || i < 0 { // an empty configured search string finds nothing
			return str(s), out, nil
		}
		o := append(append(append(out, s[:i]...), repl...), s[i+len(old):]...)
		return str(o), o, nil
	case fURLEncode:
		o := appendPercent(out, s, true)
		return str(o), o, nil
	case fURLDecode:
		o := appendPercentDecoded(out, s)
		if !utf8.Valid(o) { // Liquid refuses it; here it is null
			return null, o[:0], nil
		}
		return str(o), o, nil
	case fDate:
		return applyDate(c, v, s, out)
	}
	return null, out, nil
}

// sizeOf is Liquid's size: characters of text, elements of an array, keys of
// an object.
func sizeOf(v value) (int, bool) {
	if v.k == kRaw {
		m, ok := newMembers(v.b)
		n := 0
		for _, more := m.next(); more; _, more = m.next() {
			n++
		}
		return n, ok
	}
	s, ok := textOf(v)
	return utf8.RuneCount(s), ok
}

// arrayEnd returns the first (or last) element of a JSON array; null for an
// empty array or an object.
func (r *Renderer) arrayEnd(doc []byte, last bool, out []byte) (value, []byte, *ferr) {
	m, ok := newMembers(doc)
	if !ok || m.obj {
		return null, out, nil
	}
	var end []byte
	for e, more := m.next(); more; e, more = m.next() {
		end = e
		if !last {
			break
		}
	}
	if end == nil {
		return null, out, nil
	}
	v, o, fe := r.fromJSON(end, nil, out)
	if fe != nil {
		return null, out, nil
	}
	return v, o, nil
}

var emptyArray = []byte("[]")

// members walks the members of a JSON array (its elements) or object (its
// values) without decoding them.
type members struct {
	doc []byte
	i   int
	obj bool
}

// newMembers starts a walk over doc, or returns false when doc is not a
// valid JSON array or object.
func newMembers(doc []byte) (members, bool) {
	doc = trimSpace(doc)
	if len(doc) < 2 || (doc[0] != '[' && doc[0] != '{') || !gjson.ValidBytes(doc) {
		return members{i: 1, doc: emptyArray}, false
	}
	return members{doc: doc, i: 1, obj: doc[0] == '{'}, true
}

func (m *members) next() ([]byte, bool) {
	d := m.doc
	m.skip()
	if d[m.i] == ']' || d[m.i] == '}' {
		return nil, false
	}
	if m.obj {
		m.i = skipJSONValue(d, m.i) // the key
		m.skip()
		m.i++ // ':'
		m.skip()
	}
	start := m.i
	m.i = skipJSONValue(d, m.i)
	return d[start:m.i], true
}

// skip passes whitespace and a comma.
func (m *members) skip() {
	for isSpace(m.doc[m.i]) || m.doc[m.i] == ',' {
		m.i++
	}
}

// skipJSONValue returns the end of the valid JSON value at d[i].
func skipJSONValue(d []byte, i int) int {
	depth := 0
	for ; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			for i++; d[i] != '"'; i++ {
				if d[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case depth == 0 && (c == ',' || isSpace(c)):
			return i
		}
	}
	return i
}

// joinGlue is join's glue (Liquid's default is a space), the argument at k.
func joinGlue(c *call, k int) []byte {
	if c.nargs > k {
		return c.args[k].s
	}
	return defaultGlue
}

var defaultGlue = []byte(" ")

// appendJoinJSON joins the elements of a JSON array with glue: strings
// decoded, numbers and booleans as written, null as nothing, objects and
// arrays as compact JSON. False when doc is not an array.
func appendJoinJSON(out, doc, glue []byte) ([]byte, bool) {
	m, ok := newMembers(doc)
	if !ok || m.obj {
		return out, false
	}
	for k := 0; ; k++ {
		e, more := m.next()
		if !more {
			return out, true
		}
		if k > 0 {
			out = append(out, glue...)
		}
		switch e[0] {
		case '"':
			out, ok = appendUnquoteJSON(out, e)
		case '[', '{':
			out, ok = appendCompactJSON(out, e)
		case 'n':
		default:
			out = append(out, e...)
		}
		if !ok {
			return out, false
		}
	}
}

// splitter walks the pieces of Liquid's split, which is Ruby's String#split
// with a string pattern: an empty separator gives each character; a single
// space splits on runs of ASCII whitespace (not NUL) and ignores it at both
// ends;
// otherwise trailing empty pieces are dropped.
type splitter struct {
	s, sep []byte
	i      int
}

func newSplitter(s, sep []byte) splitter {
	sp := splitter{s: s, sep: sep}
	if len(sep) > 0 && !sp.awk() {
		sp.s = s[:splitEnd(s, sep)]
		if len(sp.s) == 0 {
			sp.i = 1 // no pieces at all
		}
	}
	return sp
}

func (sp *splitter) awk() bool { return len(sp.sep) == 1 && sp.sep[0] == ' ' }

// next returns the next piece, or false after the last one.
func (sp *splitter) next() ([]byte, bool) {
	s := sp.s
	switch {
	case sp.awk():
		i := sp.i
		for i < len(s) && isASCIISpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isASCIISpace(s[j]) {
			j++
		}
		sp.i = j
		return s[i:j], i < j
	case len(sp.sep) == 0:
		if sp.i >= len(s) {
			return nil, false
		}
		_, n := utf8.DecodeRune(s[sp.i:])
		sp.i += n
		return s[sp.i-n : sp.i], true
	}
	if sp.i > len(s) {
		return nil, false
	}
	rest := s[sp.i:]
	k := bytes.Index(rest, sp.sep)
	if k < 0 {
		sp.i = len(s) + 1
		return rest, true
	}
	sp.i += k + len(sp.sep)
	return rest[:k], true
}

// splitEnd returns where the last non-empty piece of s split by sep ends.
func splitEnd(s, sep []byte) int {
	end, i := 0, 0
	for {
		k := bytes.Index(s[i:], sep)
		if k < 0 {
			if i < len(s) {
				end = len(s)
			}
			return end
		}
		if k > 0 {
			end = i + k
		}
		i += k + len(sep)
	}
}

// splitPieces is the most pieces split can make of n bytes.
func splitPieces(n int64, sep []byte) int64 {
	switch {
	case len(sep) == 0:
		return n
	case len(sep) == 1 && sep[0] == ' ':
		return (n + 1) / 2
	}
	return n/int64(len(sep)) + 1
}

// maxSplitArray bounds the text split builds an array of: its JSON can be six
// times as long. A longer text gives null; fused with first, last, size or
// join, split takes any length.
const maxSplitArray = 1 << 20

// applySplit splits s; when parse fused split with the first, last, size or
// join after it, that runs on the pieces and no array is built.
func applySplit(c *call, s, out []byte) (value, []byte, *ferr) {
	sp := newSplitter(s, c.args[0].s)
	switch c.pick {
	case fFirst, fLast:
		var got []byte
		found := false
		for p, ok := sp.next(); ok; p, ok = sp.next() {
			got, found = p, true
			if c.pick == fFirst {
				break
			}
		}
		if !found {
			return null, out, nil
		}
		return str(got), out, nil
	case fSize:
		n := 0
		for _, ok := sp.next(); ok; _, ok = sp.next() {
			n++
		}
		o := strconv.AppendInt(out, int64(n), 10)
		return value{k: kNumber, b: o}, o, nil
	case fJoin:
		glue := joinGlue(c, 1)
		for k := 0; ; k++ {
			p, ok := sp.next()
			if !ok {
				break
			}
			if k > 0 {
				out = append(out, glue...)
			}
			out = append(out, p...)
		}
		return str(out), out, nil
	}
	if len(s) > maxSplitArray {
		return null, out, nil
	}
	out = append(out, '[')
	for k := 0; ; k++ {
		p, ok := sp.next()
		if !ok {
			break
		}
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = appendJSONEscaped(out, p)
		out = append(out, '"')
	}
	out = append(out, ']')
	return value{k: kRaw, b: out}, out, nil
}

// fuseSplits joins each split with a first, last, size or join right after
// it, so the pieces are read where they lie instead of being built into an
// array (whose JSON can be six times the text).
func (ex *expr) fuseSplits() {
	for k := 0; k+1 < ex.nf; k++ {
		c, next := &ex.calls[k], &ex.calls[k+1]
		if c.spec.op != fSplit {
			continue
		}
		switch next.spec.op {
		case fFirst, fLast, fSize, fJoin:
		default:
			continue
		}
		c.pick = next.spec.op
		if next.nargs > 0 {
			c.args[1] = next.args[0]
			c.nargs = 2
		}
		copy(ex.calls[k+1:ex.nf], ex.calls[k+2:ex.nf])
		ex.nf--
		ex.calls[ex.nf] = call{}
	}
}

// isASCIISpace is HT, LF, VT, FF, CR and space: what Ruby's split on " "
// splits on.
func isASCIISpace(c byte) bool { return c == ' ' || ('\t' <= c && c <= '\r') }

// isRubySpace is what Ruby's strip removes: ASCII whitespace and NUL.
func isRubySpace(c byte) bool { return c == 0 || isASCIISpace(c) }

func trimRubySpace(s []byte, left, right bool) []byte {
	for left && len(s) > 0 && isRubySpace(s[0]) {
		s = s[1:]
	}
	for right && len(s) > 0 && isRubySpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// appendTruncate is Liquid's truncate: a value of more than length
// characters is cut so that it and the ellipsis (default "...") are length
// characters in all.
func appendTruncate(out, s []byte, c *call) []byte {
	length := int64(50)
	ellipsis := []byte("...")
	if c.nargs > 0 {
		length = c.args[0].n
	}
	if c.nargs > 1 {
		ellipsis = c.args[1].s
	}
	if int64(utf8.RuneCount(s)) <= length {
		return append(out, s...)
	}
	keep := max(0, length-int64(utf8.RuneCount(ellipsis)))
	out = append(out, firstRunes(s, int(keep))...)
	return append(out, ellipsis...)
}

// appendCapitalized is Ruby's capitalize: the first character in title case,
// the rest in lower case.
func appendCapitalized(out, s []byte) []byte {
	r, n := utf8.DecodeRune(s)
	switch {
	case n == 0:
		return out
	case r == utf8.RuneError && n == 1:
		out = append(out, s[0])
	default:
		out = utf8.AppendRune(out, unicode.ToTitle(r))
	}
	return appendCase(out, s[n:], false)
}

// dateLayouts are the date forms date reads, besides Unix times: ISO 8601
// and RFC 3339 dates and times, RFC 1123, written-out months. A zone or a
// fraction of a second is dropped first: the time is shown as written, as
// Ruby shows a parsed time in its own zone.
var dateLayouts = [...]string{
	"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
	"%a, %d %b %Y %H:%M:%S", "%a, %d %b %Y", "%B %d, %Y", "%d %B %Y",
}

// liquidTime reads a date as Liquid's date filter does: "now" or "today",
// an integer (a Unix time in seconds, UTC) or one of dateLayouts. Years
// outside 0–9999 are not dates.
func liquidTime(v value, s []byte) (date, bool) {
	s = trimSpace(s)
	var t time.Time
	switch {
	case equalFold(s, "now"), equalFold(s, "today"):
		t = time.Now().UTC()
	case v.k == kNumber || (len(s) > 0 && isDigits(s)):
		if !isDecimalInt(s) {
			return date{}, false
		}
		n, _ := strconv.ParseInt(bstr(s), 10, 64)
		t = time.Unix(n, 0).UTC()
	case v.k == kString:
		s = dropZone(s)
		for _, layout := range dateLayouts {
			if d, ok := parseStrftime(sbytes(layout), s); ok {
				return d, true
			}
		}
		return date{}, false
	default:
		return date{}, false
	}
	d := date{year: t.Year(), month: int(t.Month()), day: t.Day(), hour: t.Hour(), min: t.Minute(), sec: t.Second()}
	return d, d.year >= 0 && d.year <= 9999
}

// dropZone removes a trailing zone (Z, ±hh:mm, ±hhmm, GMT, UTC) and a
// fraction of a second from a date with a time.
func dropZone(s []byte) []byte {
	if bytes.IndexByte(s, ':') < 0 {
		return s
	}
	n := len(s)
	switch {
	case n > 0 && (s[n-1] == 'Z' || s[n-1] == 'z'):
		s = s[:n-1]
	case n > 4 && (equalFold(s[n-4:], " GMT") || equalFold(s[n-4:], " UTC")):
		s = s[:n-4]
	case n > 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':' && isDigits(s[n-5:n-3]) && isDigits(s[n-2:]):
		s = s[:n-6]
	case n > 5 && (s[n-5] == '+' || s[n-5] == '-') && isDigits(s[n-4:]):
		s = s[:n-5]
	}
	s = trimSpace(s)
	if i := bytes.LastIndexByte(s, '.'); i > 0 && i > bytes.LastIndexByte(s, ':') && isDigits(s[i+1:]) {
		s = s[:i]
	}
	return s
}

func isDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// applyDate is Liquid's date: the value formatted with the strftime format;
// a value that is not a date is returned as it is (as Liquid does).
func applyDate(c *call, v value, s, out []byte) (value, []byte, *ferr) {
	format := c.args[0].s
	d, ok := liquidTime(v, s)
	if !ok || len(format) == 0 {
		return v, out, nil
	}
	o := appendStrftime(out, format, d)
	return str(o), o, nil
}
