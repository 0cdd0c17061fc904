package proxy

import (
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// errUnreadableBody answers a request whose body could not be read: broken chunked framing, or a
// connection that failed mid-body. The caller's fault, not the edge's: a 400, no ERROR line.
var errUnreadableBody = edge.NewProblem(http.StatusBadRequest, "the request body could not be read (malformed chunked framing or a broken connection)")

var errPathEscapes = edge.Invalid("path", "a path segment may not be . or .. in any spelling (percent-encoded, with ;parameters) nor hold an encoded slash or backslash")

// checkRestPath refuses a path after /proxy that a destination could resolve to somewhere outside
// the destination's base path. fasthttp has already resolved plain and percent-encoded dot
// segments; what is left are the spellings some servers resolve and fasthttp does not: a segment
// that is "." or ".." once percent-decoded and cut at ';' (Tomcat and Spring read "..;" as ".."),
// a backslash or an encoded slash in a segment (servers that treat them as separators), and a
// double-encoded dot, slash or backslash (servers that decode twice). It does not allocate.
func checkRestPath(rest []byte) error {
	if !hasPathSpecial(rest) {
		return nil // the usual path: no segment can be a dot segment or hold a separator
	}
	for len(rest) > 0 {
		rest = rest[1:] // the '/' before each segment
		end := 0
		for end < len(rest) && rest[end] != '/' {
			end++
		}
		if escapesBase(rest[:end]) {
			return errPathEscapes
		}
		rest = rest[end:]
	}
	return nil
}

// pathSpecial marks the bytes without which escapesBase finds nothing: '.', '%', '\\' and ';'.
var pathSpecial = [256]bool{'.': true, '%': true, '\\': true, ';': true}

// hasPathSpecial reports whether p holds a byte escapesBase must look at.
func hasPathSpecial(p []byte) bool {
	for _, c := range p {
		if pathSpecial[c] {
			return true
		}
	}
	return false
}

// escapesBase reports whether one raw path segment is a dot segment or holds a separator, in
// any of the spellings checkRestPath names. It reads the segment percent-decoded once, and
// looks in that for a second encoding of a dot, slash, backslash or semicolon.
func escapesBase(seg []byte) bool {
	dots, other, params := 0, false, false
	var p1, p2 byte // the two decoded bytes before c
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if d, ok := unhex2(seg[i+1:]); c == '%' && ok {
			c, i = d, i+2
		}
		if d, ok := unhex2([]byte{p1, c}); p2 == '%' && ok && (d == '.' || d == '/' || d == '\\' || d == ';') {
			return true
		}
		p2, p1 = p1, c
		switch {
		case c == '/' || c == '\\':
			return true
		case params: // after ';': parameters, which servers that honour them drop
		case c == ';':
			params = true
		case c == '.':
			dots++
		default:
			other = true
		}
	}
	return !other && (dots == 1 || dots == 2)
}

// unhex2 decodes the two hex digits at the start of b.
func unhex2(b []byte) (byte, bool) {
	if len(b) < 2 {
		return 0, false
	}
	h, ok1 := unhex(b[0])
	l, ok2 := unhex(b[1])
	return h<<4 | l, ok1 && ok2
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
