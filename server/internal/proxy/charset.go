package proxy

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
)

// errCharset refuses to detokenize into a body labelled with a multi-byte charset other than
// UTF-8. Values are escaped for UTF-8: in GBK, Big5 or Shift_JIS a valid UTF-8 character can end
// in a lead byte (丁 is E4 B8 81; 0x81 leads in GBK) that swallows the backslash of the escape
// after it (\" → the pair 81 5C, then a bare quote), so a value would end its JSON string in the
// destination's eyes. The answer depends only on the label.
var errCharset = edge.NewProblem(http.StatusUnsupportedMediaType,
	"expressions are resolved only in bodies labelled UTF-8 (or ASCII or a single-byte charset)")

// checkBodyCharset refuses a body whose Content-Type names a charset in which UTF-8 escaping
// does not hold. Form bodies pass: a form-encoded value is ASCII whatever the charset.
func checkBodyCharset(ct []byte) error {
	if bodyContext(ct) == expr.Form {
		return nil
	}
	if cs := charsetParam(ct); cs != "" && !escapeSafeCharset(cs) {
		return errCharset
	}
	return nil
}

// charsetParam is the lower-cased charset parameter of a Content-Type value ("" if none).
func charsetParam(ct []byte) string {
	_, params, ok := bytes.Cut(ct, []byte(";"))
	if !ok {
		return ""
	}
	for _, p := range strings.Split(string(params), ";") {
		name, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "charset") {
			return strings.ToLower(strings.Trim(strings.TrimSpace(v), `"`))
		}
	}
	return ""
}

// escapeSafeCharset reports whether a byte of a UTF-8 escape sequence can never be read as part
// of the character before it: UTF-8 itself, ASCII, and single-byte charsets.
func escapeSafeCharset(cs string) bool {
	switch cs {
	case "utf-8", "utf8", "us-ascii", "ascii", "latin1", "iso-latin-1":
		return true
	}
	return strings.HasPrefix(cs, "iso-8859-") || strings.HasPrefix(cs, "windows-125") || strings.HasPrefix(cs, "cp125")
}
