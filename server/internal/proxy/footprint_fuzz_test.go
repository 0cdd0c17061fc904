package proxy

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// FuzzFootprintPathAndQuery: what x-fp-path-and-query may add to a destination URL is a path
// under the base path (no dot segment in any spelling, no encoded separator) and a query, in
// visible ASCII without a fragment.
func FuzzFootprintPathAndQuery(f *testing.F) {
	for _, s := range []string{"/v1/charges?x=1", "?only=query", "/a/../b", "/%2e%2E/x", "/a%2fb", "/a\\..\\b",
		"/..;/admin", "//evil.example/x", "@evil.example", "/a#frag", "/a b", "/%252e%252e/x", "/ok/.", "/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var h fasthttp.RequestHeader
		h.Set(fpPathAndQuery, v)
		got := h.Peek(fpPathAndQuery)
		rest, query, err := pathAndQuery(&h)
		if err != nil || len(got) == 0 {
			return
		}
		if got[0] != '/' && got[0] != '?' {
			t.Fatalf("accepted %q: neither a path nor a query", got)
		}
		if bytes.ContainsAny(got, "# \t\r\n") || bytes.ContainsFunc(got, func(r rune) bool { return r >= 0x7f || r < ' ' }) {
			t.Fatalf("accepted %q with a fragment, space, control or non-ASCII byte", got)
		}
		if checkRestPath(rest) != nil {
			t.Fatalf("accepted %q whose path escapes the base", got)
		}
		for seg := range strings.SplitSeq(string(rest), "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("accepted the dot segment of %q", got)
			}
		}
		if len(rest)+len(query) > len(got) {
			t.Fatalf("split %q into more than it holds", got)
		}
	})
}

// FuzzFootprintAccessReason: an access reason kept in audit events is bounded UTF-8 text
// without control characters.
func FuzzFootprintAccessReason(f *testing.F) {
	for _, s := range []string{"KYC", "démarche", "a\x00b", "a\nb", "\xff", strings.Repeat("r", 1025)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var h fasthttp.RequestHeader
		h.Set(fpAccessReason, v)
		x := &exchange{}
		if err := fpAudit(x, &h); err != nil {
			return
		}
		if len(x.reason) > maxAccessReason || !utf8.ValidString(x.reason) || strings.ContainsFunc(x.reason, unicode.IsControl) {
			t.Fatalf("accepted reason %q", x.reason)
		}
	})
}
