package jwe

import (
	"bytes"
	"encoding/json"
)

// objIter walks the members of one JSON object without allocating, in one pass
// that also checks what it reads: member names and string values are checked
// as JSON strings (scanString) on the way, and an object value can be walked
// in place by a nested objIter (object, endObject). Other values — arrays,
// numbers, literals, objects not walked — are only skipped; a caller that
// accepts one must check it itself (json.Valid the whole input). It never
// panics on any input.
//
// Member names that contain a backslash escape are refused: none of the names
// this package reads needs one, and refusing them means a name means the same
// thing to this walker as to any other JSON parser.
type objIter struct {
	b       []byte
	i       int
	members int
	nested  bool // the object ends before b does (object)
	escaped bool // the string value last returned holds an escape
	done    bool
	bad     bool
}

// newObjIter starts a walk over b, which must hold exactly one JSON object
// (surrounding whitespace allowed).
func newObjIter(b []byte) (objIter, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return objIter{}, false
	}
	return objIter{b: b, i: i + 1}, true
}

// next returns the next member: key spans the raw name without quotes, val the
// raw JSON value, both in the walked buffer. ok is false at the end of the
// object or on malformed input, which it.bad then reports.
func (it *objIter) next() (key, val span, ok bool) {
	if key, ok = it.name(); ok {
		val, ok = it.value()
	}
	return key, val, ok
}

// name reads the next member's name and its colon; its value is read next by
// value or object. ok is false at the end of the object or on malformed input.
func (it *objIter) name() (key span, ok bool) {
	if it.bad || it.done {
		return span{}, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == '}' {
		it.done, it.i = true, i+1
		if !it.nested && skipWS(b, i+1) != len(b) {
			it.bad = true
		}
		return span{}, false
	}
	if it.members > 0 {
		if i >= len(b) || b[i] != ',' {
			return it.fail()
		}
		i = skipWS(b, i+1)
	}
	end, escaped, ok := scanString(b, i)
	if !ok || escaped {
		return it.fail()
	}
	key = span{i + 1, end - 1}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return it.fail()
	}
	it.i = skipWS(b, i+1)
	return key, true
}

// nameOK is name for a caller that only looks ahead (on a copy of the walk).
func (it *objIter) nameOK() bool {
	_, ok := it.name()
	return ok
}

func (it *objIter) fail() (span, bool) {
	it.bad = true
	return span{}, false
}

// value reads the value of the member whose name was just read: a string is
// checked, anything else skipped.
func (it *objIter) value() (val span, ok bool) {
	b, i := it.b, it.i
	var end int
	if i < len(b) && b[i] == '"' {
		end, it.escaped, ok = scanString(b, i)
	} else {
		end = skipValue(b, i)
		ok = end > i
	}
	if !ok {
		return it.fail()
	}
	it.i = end
	it.members++
	return span{i, end}, true
}

// str returns the content of val, the value last read, without its quotes;
// false if it is not a string or holds an escape.
func (it *objIter) str(val span) ([]byte, bool) {
	if it.b[val.start] != '"' || it.escaped {
		return nil, false
	}
	return it.b[val.start+1 : val.end-1], true
}

// isString reports whether the value of the member whose name was just read is
// a string (the next byte is its quote).
func (it *objIter) isString() bool { return it.i < len(it.b) && it.b[it.i] == '"' }

// object starts a walk over the value of the member whose name was just read,
// which must be an object; once that walk has reached its end, endObject
// resumes this one after it.
func (it *objIter) object() (objIter, bool) {
	if it.i >= len(it.b) || it.b[it.i] != '{' {
		it.bad = true
		return objIter{}, false
	}
	return objIter{b: it.b, i: it.i + 1, nested: true}, true
}

// endObject resumes it after sub, the walk object started, which must have
// ended at its closing brace.
func (it *objIter) endObject(sub *objIter) bool {
	if sub.bad || !sub.done {
		it.bad = true
		return false
	}
	it.i = sub.i
	it.members++
	return true
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
