package jwe

import (
	"bytes"
	"encoding/json"
)

// objIter walks the members of one JSON object without allocating, in one pass
// that also checks what it reads: member names and string values are checked
// as JSON strings (scanString) on the way. Other values — objects, arrays,
// numbers, literals — are only skipped; a caller that accepts one must check it
// itself (walk it, or json.Valid the whole input). It never panics on any
// input.
//
// Member names that contain a backslash escape are refused: none of the names
// this package reads needs one, and refusing them means a name means the same
// thing to this walker as to any other JSON parser.
type objIter struct {
	b       []byte
	i       int
	members int
	bad     bool
}

// newObjIter starts a walk over b, which must hold exactly one JSON object
// (surrounding whitespace allowed).
func newObjIter(b []byte) (objIter, bool) { return newObjIterAt(b, 0) }

// newObjIterAt starts a walk over the object that begins at b[start:] and ends
// b; spans it returns index b.
func newObjIterAt(b []byte, start int) (objIter, bool) {
	i := skipWS(b, start)
	if i >= len(b) || b[i] != '{' {
		return objIter{}, false
	}
	return objIter{b: b, i: i + 1}, true
}

// next returns the next member: key spans the raw name without quotes, val the
// raw JSON value, both in the walked buffer; a value that starts with '"' has
// been checked. ok is false at the end of the object or on malformed input,
// which it.bad then reports.
func (it *objIter) next() (key, val span, ok bool) {
	if it.bad {
		return span{}, span{}, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		it.bad = true
		return span{}, span{}, false
	}
	if b[i] == '}' {
		it.i = len(b)
		if skipWS(b, i+1) != len(b) {
			it.bad = true
		}
		return span{}, span{}, false
	}
	if it.members > 0 {
		if b[i] != ',' {
			it.bad = true
			return span{}, span{}, false
		}
		i = skipWS(b, i+1)
	}
	end, escaped, ok := scanString(b, i)
	if !ok || escaped {
		it.bad = true
		return span{}, span{}, false
	}
	key = span{i + 1, end - 1}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		it.bad = true
		return span{}, span{}, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '"' {
		end, _, ok = scanString(b, i)
	} else {
		end = skipValue(b, i)
		ok = end > i
	}
	if !ok {
		it.bad = true
		return span{}, span{}, false
	}
	val = span{i, end}
	it.i = end
	it.members++
	return key, val, true
}

// validJSON is json.Valid with a shortcut for a lone string, the usual
// plaintext (a card number), which scanString checks without json.Valid's
// set-up.
func validJSON(b []byte) bool {
	if i := skipWS(b, 0); i < len(b) && b[i] == '"' {
		end, _, ok := scanString(b, i)
		return ok && skipWS(b, end) == len(b)
	}
	return json.Valid(b)
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at b[i] (which
// must be '"'), or -1. It does not check the string (scanString does).
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		j += indexStringSpecial(b[j:])
		if j >= len(b) {
			break
		}
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// scanString checks the JSON string at b[i] — no control bytes, only JSON's
// escapes — and returns the index past its closing quote and whether it holds
// an escape.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false, false
	}
	for j := i + 1; j < len(b); j++ {
		j += indexStringSpecial(b[j:])
		if j == len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c < 0x20:
			return j, escaped, false
		case c == '\\':
			escaped = true
			j++
			if j >= len(b) {
				return j, escaped, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return j, escaped, false
				}
				j += 4
			default:
				return j, escaped, false
			}
		}
	}
	return len(b), escaped, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipValue returns the index just past the value starting at b[i], or -1. It
// is iterative, so nesting depth costs no stack.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return j
			}
			j++
		}
		return j
	}
}

// stringContent returns the bytes between the quotes of a JSON string value
// that contains no escapes.
func stringContent(val []byte) ([]byte, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return nil, false
	}
	s := val[1 : len(val)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	return s, true
}

// span is a [start, end) range of a buffer. Spans instead of sub-slices keep
// the walked buffer from escaping to the heap.
type span struct{ start, end int }

// seenKeys detects duplicate member names. spans is caller-provided storage
// (its length is the most names accepted); n counts the names recorded.
type seenKeys struct {
	spans []span
	n     int
}

// add records the name at sp in buf; it reports false on a duplicate or when
// spans is full (too many members).
func (s *seenKeys) add(buf []byte, sp span) bool {
	if s.n >= len(s.spans) {
		return false
	}
	name := buf[sp.start:sp.end]
	for _, o := range s.spans[:s.n] {
		if bytes.Equal(buf[o.start:o.end], name) {
			return false
		}
	}
	s.spans[s.n] = sp
	s.n++
	return true
}
