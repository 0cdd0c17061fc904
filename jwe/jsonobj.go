package jwe

import "bytes"

// objIter walks the members of one JSON object without allocating. The input
// must already have passed json.Valid; the walker still checks every bound, so
// it never panics on input that did not.
//
// Member names that contain a backslash escape are refused: none of the names
// this package reads needs one, and refusing them means a name means the same
// thing to this walker as to any other JSON parser.
type objIter struct {
	b   []byte
	i   int
	bad bool
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
// raw JSON value, both in the walked buffer. ok is false at the end of the
// object or on malformed input, which it.bad then reports.
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
	if b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		it.bad = true
		return span{}, span{}, false
	}
	end := skipString(b, i)
	if end < 0 {
		it.bad = true
		return span{}, span{}, false
	}
	key = span{i + 1, end - 1}
	if bytes.IndexByte(b[key.start:key.end], '\\') >= 0 {
		it.bad = true
		return span{}, span{}, false
	}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		it.bad = true
		return span{}, span{}, false
	}
	i = skipWS(b, i+1)
	end = skipValue(b, i)
	if end <= i {
		it.bad = true
		return span{}, span{}, false
	}
	val = span{i, end}
	it.i = end
	return key, val, true
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
// must be '"'), or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
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
