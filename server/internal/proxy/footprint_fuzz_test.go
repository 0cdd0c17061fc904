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

// FuzzFootprintPEMHeader: the PEM of x-fp-proxy-client-cert / -key / -pin-cert, in any of its
// header spellings, decodes to a bounded number of non-empty blocks or fails with an error that
// never quotes the value (it may be a private key); building the TLS configuration from it never
// panics.
func FuzzFootprintPEMHeader(f *testing.F) {
	const cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIBAjAKBggqhkjOPQQDAjAaMRgwFgYDVQQDEw9zbHVp\n-----END CERTIFICATE-----\n"
	for _, s := range []string{cert, strings.ReplaceAll(cert, "\n", `\n`), strings.ReplaceAll(cert, "\n", " "),
		"LS0tLS1CRUdJTiBYLS0tLS0KQUFBQQotLS0tLUVORCBYLS0tLS0K", "-----BEGIN -----", "-----BEGIN X-----AAAA-----END Y-----",
		"-----BEGIN X-----\\n!!!!\\n-----END X-----", strings.Repeat("-----BEGIN A-----QQ==-----END A-----", 9), "secret-key-bytes"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		blocks, err := parsePEMHeader(v)
		if err != nil {
			if len(v) >= 8 && strings.Contains(err.Error(), string(v)) {
				t.Fatalf("the error quotes the value: %v", err)
			}
			return
		}
		if len(blocks) == 0 || len(blocks) > maxPEMBlocks || len(v) > maxPEMHeader {
			t.Fatalf("%d blocks from %d bytes", len(blocks), len(v))
		}
		for _, b := range blocks {
			if len(b.der) == 0 || b.typ == "" {
				t.Fatalf("empty block %+v", b)
			}
		}
		var h fasthttp.RequestHeader
		h.SetBytesV(fpClientCert, v)
		h.SetBytesV(fpClientKey, v)
		h.SetBytesV(fpPinCert, v)
		destinationTLS(&h, nil) // must not panic
	})
}
