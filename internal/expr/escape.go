package expr

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// bstr views b as a string without copying. The string must not outlive b
// nor be used after b changes.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// sbytes views s as bytes without copying. The bytes must never be written.
func sbytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// validNumber reports whether b is exactly one JSON number.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		i++
	} else if '1' <= b[i] && b[i] <= '9' {
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		v, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// appendUnescapeJSON decodes the body of a JSON string (no quotes) onto out.
// Unpaired surrogates become U+FFFD. Control characters are accepted (the
// text may come from an expression written in a JSON string).
func appendUnescapeJSON(out, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '\\')
		if j < 0 {
			return append(out, s[i:]...), true
		}
		out = append(out, s[i:i+j]...)
		i += j
		if i+1 >= len(s) {
			return out, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			out = append(out, s[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return out, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2, ok := hex4(s[i+2:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							out = utf8.AppendRune(out, d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return out, false
		}
		i += 2
	}
	return out, true
}

// appendUnquoteJSON decodes a JSON string literal (with its quotes) onto out.
func appendUnquoteJSON(out, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return out, false
	}
	body := raw[1 : len(raw)-1]
	if hasC0(body) {
		return out, false
	}
	return appendUnescapeJSON(out, body)
}

// plainJSONString returns the content of the JSON string raw when it has nothing to decode and
// nothing appendJSONEscaped would change: printable ASCII without '"' or '\\' between the quotes.
func plainJSONString(raw []byte) ([]byte, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return nil, false
	}
	b := raw[1 : n-1]
	return b, indexJSONEscape(b) == len(b)
}

// isPlainJSONString reports whether plainJSONString accepts raw.
func isPlainJSONString(raw []byte) bool {
	_, ok := plainJSONString(raw)
	return ok
}

// appendJSONEscaped appends s escaped for the inside of a JSON string: quote,
// backslash, control characters, U+2028 and U+2029 are escaped and invalid
// UTF-8 becomes \ufffd, so the result can never end the string it is in.
func appendJSONEscaped(out, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		i += indexJSONEscape(s[i:]) // plain ASCII, copied as it is
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			default:
				out = append(out, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, s[start:i]...)
			out = append(out, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hexLower[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(out, s[start:]...)
}

// headerSafe reports whether s may be a header value: UTF-8 without control characters
// (C0, DEL, C1 such as NEL) other than horizontal tab. Parsers split lines on more than CR and
// LF (VT, FF, NEL), and one that reads bytes as Latin-1 sees C1 controls in invalid UTF-8.
func headerSafe(s []byte) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if (r == utf8.RuneError && size == 1) || r <= 0x9f {
			return false
		}
		i += size
	}
	return true
}

// appendCompactJSON appends raw (a JSON document) with insignificant
// whitespace removed; false if raw is not valid JSON.
func appendCompactJSON(out, raw []byte) ([]byte, bool) {
	if !gjson.ValidBytes(raw) {
		return out, false
	}
	inStr, esc := false, false
	for _, c := range raw {
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		out = append(out, c)
	}
	return out, true
}

// appendPercent appends s percent-encoded: unreserved characters
// (A-Z a-z 0-9 - _ . ~) stay, everything else becomes %XX. With plus, a
// space becomes '+' (form encoding).
func appendPercent(out, s []byte, plus bool) []byte {
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			out = append(out, c)
		case c == ' ' && plus:
			out = append(out, '+')
		default:
			out = append(out, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return out
}

// appendPercentDecoded decodes %XX and '+' (as a space) onto out; malformed
// escapes are copied as written.
func appendPercentDecoded(out, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
			} else {
				out = append(out, c)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}
