package expr

import "bytes"

// stackWords × 64 is the JSON nesting depth the scanner tracks exactly.
// Deeper than that, key/value positions are unknown and treated as keys
// (values are then always inserted as JSON strings, never as raw JSON).
const stackWords = 16

// scanState is the scanner's state carried across chunks of one input.
type scanState struct {
	ctx    Context
	bareOK bool // finish may parse a bare expression itself (no word is a message source)
	inStr  bool // inside a JSON string
	esc    bool // previous byte inside the string was an unescaped backslash
	isKey  bool // the current JSON string is (or may be) an object key
	prev   byte // last significant byte outside JSON strings
	topObj bool // the innermost container is an object
	depth  int
	stack  [stackWords]uint64 // bit set → that level is an object
}

func (s *scanState) reset(ctx Context, bareOK bool) {
	*s = scanState{ctx: ctx, bareOK: bareOK}
}

func (s *scanState) push(obj bool) {
	if s.depth < stackWords*64 {
		w, b := s.depth/64, uint(s.depth%64)
		if obj {
			s.stack[w] |= 1 << b
		} else {
			s.stack[w] &^= 1 << b
		}
	}
	s.depth++
	s.topObj = obj
}

func (s *scanState) pop() {
	if s.depth > 0 {
		s.depth--
	}
	if d := s.depth - 1; d >= 0 && d < stackWords*64 {
		s.topObj = s.stack[d/64]&(1<<uint(d%64)) != 0
	}
}

// keyPosition reports whether a value starting now would be an object key.
// Unknown positions (too deep) count as keys.
func (s *scanState) keyPosition() bool {
	if s.depth == 0 {
		return false
	}
	if s.depth > stackWords*64 {
		return true
	}
	return s.topObj && (s.prev == '{' || s.prev == ',')
}

// hit is one expression found by next. Offsets are relative to the src given
// to next.
type hit struct {
	lit        int  // src[:lit] is literal text before the expression
	start, end int  // consumed span, quotes included when openQ/closeQ
	e0, e1     int  // the expression as written, delimiters included
	in0, in1   int  // the text between the delimiters
	inStr      bool // JSON: the expression lies inside a JSON string
	openQ      bool // JSON: the span starts with the string's opening quote
	closeQ     bool // JSON: the span ends with the string's closing quote
	isKey      bool // JSON: the value lands in object-key position
	inJSON     bool // Body, Header: outside strings but inside braces or brackets
	esc        bool // inside a string: a backslash lies between the delimiters

	// Set for a bare expression (a source without path or filters, its id written as is in src
	// at id0:id1): by finish when it is a token id or encrypted alone (parsed: parse is skipped),
	// else by Scan after the parse. replay rebuilds it from these instead of parsing it again.
	bare     bool
	parsed   bool
	kind     RefKind
	id0, id1 int
}

// shift moves h's offsets by n (relative to an input n bytes longer at the front).
func (h *hit) shift(n int) {
	h.lit += n
	h.start += n
	h.end += n
	h.e0 += n
	h.e1 += n
	h.in0 += n
	h.in1 += n
	h.id0 += n
	h.id1 += n
}

// scanErr is a scanning failure; e0 is the offset of the offending expression.
type scanErr struct {
	err    error
	detail string
	e0, e1 int
}

// next looks for the next expression in src, advancing the JSON state over
// the literal bytes before it, and writes it to *h (a hit is large: it is not
// copied through the scanner's calls). found=false means src[:h.lit] is literal
// and, unless eof, src[h.lit:] must be presented again followed by more input.
// src is a suffix of sp's input, and successive calls with one sp move forward.
func (s *scanState) next(h *hit, src []byte, eof bool, sp *strSpecials) (found bool, se *scanErr) {
	switch s.ctx {
	case JSON:
		return s.nextJSON(h, src, eof, sp)
	case Form, Query:
		return s.nextEncoded(h, src, eof)
	case Body, Header:
		return s.nextBody(h, src, eof, sp)
	default:
		return s.nextPlain(h, src, eof)
	}
}

func (s *scanState) nextPlain(h *hit, src []byte, eof bool) (bool, *scanErr) {
	i := 0
	for {
		j := bytes.IndexByte(src[i:], '{')
		if j < 0 {
			*h = hit{lit: len(src)}
			return false, nil
		}
		i += j
		if i+1 >= len(src) {
			if eof {
				*h = hit{lit: len(src)}
				return false, nil
			}
			*h = hit{lit: i}
			return false, nil
		}
		if src[i+1] != '{' {
			i++
			continue
		}
		return s.finish(h, src, eof, i, i+2, false, false, false)
	}
}

// nextBody handles Body and Header: JSON's lexical state is tracked (double quotes end or start a
// string unless escaped by a backslash inside one) and, outside strings, the nesting of braces and
// brackets — enough to know whether an expression sits inside a JSON string or among JSON values.
// The expression itself is opaque: its text never changes the state.
func (s *scanState) nextBody(h *hit, src []byte, eof bool, sp *strSpecials) (bool, *scanErr) {
	off := len(sp.src) - len(src) // src[i] is sp.src[off+i]
	for i := 0; i < len(src); i++ {
		if s.esc {
			s.esc = false
			continue
		}
		if s.inStr {
			i = sp.index(off+i) - off
		} else {
			// Outside strings JSON structure counts too; it is short beside the strings.
			for i < len(src) && !bodySpecial[src[i]] {
				i++
			}
		}
		if i == len(src) {
			break
		}
		switch src[i] {
		case '\\':
			s.esc = s.inStr
		case '"':
			s.inStr = !s.inStr
		case '{':
			if i+1 >= len(src) {
				if eof {
					continue
				}
				*h = hit{lit: i}
				return false, nil
			}
			if src[i+1] == '{' {
				found, se := s.finish(h, src, eof, i, i+2, s.inStr, false, false)
				h.inJSON = found && !h.inStr && s.depth > 0
				return found, se
			}
			if !s.inStr {
				s.depth++
			}
		case '[':
			s.depth++
		case '}', ']':
			s.depth = max(s.depth-1, 0)
		}
	}
	*h = hit{lit: len(src)}
	return false, nil
}

// nextEncoded handles Form and Query: delimiters are "{{"/"}}" or their
// percent-encoded forms "%7B%7B"/"%7D%7D" (hex digits in either case).
func (s *scanState) nextEncoded(h *hit, src []byte, eof bool) (bool, *scanErr) {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '{' && c != '%' {
			continue
		}
		n, partial := openMarker(src[i:])
		if partial {
			if eof {
				continue
			}
			*h = hit{lit: i}
			return false, nil
		}
		if n > 0 {
			return s.finish(h, src, eof, i, i+n, false, false, false)
		}
	}
	*h = hit{lit: len(src)}
	return false, nil
}

// openMarker reports whether b starts with an opening delimiter (n = its
// length) or with a proper prefix of one (partial).
func openMarker(b []byte) (n int, partial bool) {
	return marker(b, '{', 'B')
}

func closeMarker(b []byte) (n int, partial bool) {
	return marker(b, '}', 'D')
}

func marker(b []byte, brace, hex byte) (int, bool) {
	// Patterns: brace brace | %7X%7X where X is hex in either case, mixed
	// forms ("{%7B") included.
	pos := 0
	for k := 0; k < 2; k++ {
		if pos >= len(b) {
			return 0, true
		}
		if b[pos] == brace {
			pos++
			continue
		}
		if b[pos] != '%' {
			return 0, false
		}
		if pos+1 >= len(b) {
			return 0, true
		}
		if b[pos+1] != '7' {
			return 0, false
		}
		if pos+2 >= len(b) {
			return 0, true
		}
		if b[pos+2]|0x20 != hex|0x20 {
			return 0, false
		}
		pos += 3
	}
	return pos, false
}

// endSpecial marks the bytes that matter while looking for the end of an expression.
var (
	endSpecial = [256]bool{'"': true, '\\': true, '}': true, '%': true}
	// bodySpecial marks the bytes that matter outside strings in a Body or Header.
	bodySpecial = [256]bool{'"': true, '\\': true, '{': true, '[': true, '}': true, ']': true}
)

func (s *scanState) nextJSON(h *hit, src []byte, eof bool, sp *strSpecials) (bool, *scanErr) {
	off := len(sp.src) - len(src) // src[i] is sp.src[off+i]
	for i := 0; i < len(src); i++ {
		if s.inStr {
			if s.esc {
				s.esc = false
				continue
			}
			i = sp.index(off+i) - off
			if i == len(src) {
				break
			}
			switch src[i] {
			case '\\':
				s.esc = true
			case '"':
				s.inStr = false
				s.prev = '"'
			case '{':
				if i+1 >= len(src) {
					if eof {
						continue
					}
					*h = hit{lit: i}
					return false, nil
				}
				if src[i+1] == '{' {
					return s.finish(h, src, eof, i, i+2, true, false, s.isKey)
				}
			}
			continue
		}
		switch c := src[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			if i+2 >= len(src) && !eof {
				*h = hit{lit: i}
				return false, nil
			}
			key := s.keyPosition()
			if i+2 < len(src) && src[i+1] == '{' && src[i+2] == '{' {
				found, se := s.finish(h, src, eof, i+1, i+3, true, true, key)
				if found {
					h.start = i
					h.lit = i
				} else if se == nil {
					h.lit = i
				}
				return found, se
			}
			s.isKey = key
			// Most strings hold no escape or brace: found closed here, without going round the
			// loop inside the string.
			if j := sp.index(off+i+1) - off; j < len(src) && src[j] == '"' {
				i = j
				s.prev = '"'
				continue
			}
			s.inStr = true
		case '{':
			if i+1 >= len(src) {
				if !eof {
					*h = hit{lit: i}
					return false, nil
				}
			} else if src[i+1] == '{' {
				return s.finish(h, src, eof, i, i+2, false, false, s.keyPosition())
			}
			s.push(true)
			s.prev = '{'
		case '[':
			s.push(false)
			s.prev = '['
		case '}', ']':
			s.pop()
			s.prev = c
		default:
			s.prev = c
		}
	}
	*h = hit{lit: len(src)}
	return false, nil
}

// finish locates the end of an expression whose delimiter spans
// src[e0:in0]. It updates the JSON state when the expression is found.
func (s *scanState) finish(h *hit, src []byte, eof bool, e0, in0 int, inStr, openQ, isKey bool) (bool, *scanErr) {
	if s.bareOK {
		if kind, id0, id1, e1, ok := bareAt(src, e0, in0); ok {
			found := s.found(h, src, eof, e0, e1, in0, e1-2, inStr, openQ, isKey, false)
			if found {
				h.bare, h.parsed, h.kind, h.id0, h.id1 = true, true, kind, id0, id1
			}
			return found, nil
		}
	}
	encoded := s.ctx == Form || s.ctx == Query
	limit := e0 + MaxExprLen
	esc, escaped := false, false
	j0 := in0
	if !encoded && !inStr {
		// Fast path: nothing but "}}" can end the expression; skip to the
		// first '}' (at most to the limit).
		end := min(len(src), limit)
		if k := bytes.IndexByte(src[in0:end], '}'); k >= 0 {
			j0 = in0 + k
		} else {
			j0 = end
		}
	}
	for j := j0; j < len(src); j++ {
		if !esc {
			end := min(len(src), limit)
			if encoded {
				for j < end && !endSpecial[src[j]] {
					j++
				}
			} else {
				j += indexEndSpecial(src[j:end])
			}
			if j == len(src) {
				break
			}
		}
		if j >= limit {
			return false, &scanErr{err: ErrTooLong, detail: "longer than the maximum expression length", e0: e0, e1: len(src)}
		}
		c := src[j]
		if inStr {
			if esc {
				esc = false
				continue
			}
			if c == '\\' {
				esc, escaped = true, true
				continue
			}
			if c == '"' && s.ctx == JSON { // in a Body or Header the expression is opaque
				return false, &scanErr{err: ErrUnterminated, detail: "the JSON string ends before \"}}\"", e0: e0, e1: j}
			}
		}
		var n int
		if c == '}' || (encoded && c == '%') {
			var partial bool
			if encoded {
				n, partial = closeMarker(src[j:])
			} else if j+1 < len(src) {
				if src[j+1] == '}' {
					n = 2
				}
			} else {
				partial = true
			}
			if partial {
				if eof {
					continue
				}
				*h = hit{lit: e0}
				return false, nil
			}
		}
		if n == 0 {
			continue
		}
		e1 := j + n
		if e1 > limit {
			return false, &scanErr{err: ErrTooLong, detail: "longer than the maximum expression length", e0: e0, e1: e1}
		}
		return s.found(h, src, eof, e0, e1, in0, j, inStr, openQ, isKey, escaped), nil
	}
	if !eof {
		*h = hit{lit: e0}
		return false, nil
	}
	return false, &scanErr{err: ErrUnterminated, detail: "no closing \"}}\"", e0: e0, e1: len(src)}
}

// found writes to *h the expression src[e0:e1], its text src[in0:in1], and updates the JSON
// state past it. false: in JSON, whether a closing quote follows is not known
// yet (src[e0:] must be presented again with more input).
func (s *scanState) found(h *hit, src []byte, eof bool, e0, e1, in0, in1 int, inStr, openQ, isKey, escaped bool) bool {
	*h = hit{lit: e0, start: e0, end: e1, e0: e0, e1: e1, in0: in0, in1: in1, inStr: inStr, openQ: openQ, isKey: isKey, esc: escaped}
	if s.ctx == JSON {
		if openQ {
			if e1 >= len(src) && !eof {
				*h = hit{lit: e0}
				return false
			}
			if e1 < len(src) && src[e1] == '"' {
				h.closeQ = true
				h.end = e1 + 1
				s.inStr = false
				s.prev = '"'
			} else {
				s.inStr = true
				s.esc = false
				s.isKey = isKey
			}
		} else if !inStr {
			s.prev = '"'
		}
	}
	return true
}

// bareAt matches src[in0:] against a bare expression's text and its closing "}}": white space,
// a word of id bytes, white space, "}}" — what finish and parser.bare together make of it, read
// once. The word is a token id, or the encrypted source. e1 is the end of the "}}"; ok is false
// for anything else, a match not within MaxExprLen of e0, or one that runs past src (finish
// then decides, as for any expression).
func bareAt(src []byte, e0, in0 int) (kind RefKind, id0, id1, e1 int, ok bool) {
	end := min(len(src), e0+MaxExprLen)
	i := in0
	for i < end && isSpace(src[i]) {
		i++
	}
	n := indexNonID(src[i:min(end, i+MaxIDLen+1)])
	if n == 0 || n > MaxIDLen {
		return 0, 0, 0, 0, false
	}
	j := i + n
	for j < end && isSpace(src[j]) {
		j++
	}
	if j+2 > end || src[j] != '}' || src[j+1] != '}' {
		return 0, 0, 0, 0, false
	}
	if string(src[i:i+n]) == "encrypted" {
		return RefEncrypted, 0, 0, j + 2, true
	}
	return RefToken, i, i + n, j + 2, true
}
