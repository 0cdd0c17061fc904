package proxy

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestSetDestinationURIAsParsed: the destination URI set part by part on the caller's own
// request (setDestinationURI) is the one fasthttp's parse of the whole destination URL gives —
// scheme, host, userinfo, path, query, no fragment — and the request goes out with the same
// request line, Host and Authorization, whatever the caller's URI held before (a fragment, dot
// segments, escapes, a query with bt-proxy-key).
func TestSetDestinationURIAsParsed(t *testing.T) {
	callers := []string{
		"/proxy",
		"/proxy/",
		"/proxy/v1/charges?a=b",
		"/proxy/a%20b/../c//d?x=1&bt-proxy-key=k&y=%7B%7B",
		"/proxy/%3F%23q?x#frag",
		"/proxy/caf%C3%A9/%00?=&&",
	}
	bases := []string{
		"http://127.0.0.1:8080",
		"https://API.Example.com/v1/",
		"http://u:p%41@h.test:81/base?fixed=1",
		"http://[::1]:9000",
		"HTTP://H.Test//",
		"http://h.test?only=query",
	}
	for _, base := range bases {
		for _, caller := range callers {
			t.Run(base+" "+caller, func(t *testing.T) {
				memo, origin := destinationHostMemo(base), destinationOrigin(base)
				if memo == nil || origin == 0 {
					t.Fatalf("base %q: memo %v, origin %d", base, memo, origin)
				}
				var req fasthttp.Request
				req.Header.SetHost("edge.test:8443")
				req.SetRequestURI(caller)
				path, query, _ := bytes.Cut(req.URI().RequestURI(), []byte("?"))
				dest := appendURL(nil, base, bytes.TrimPrefix(path, []byte("/proxy")), query)
				if !strings.HasPrefix(string(dest), base[:origin]) {
					t.Fatalf("%q does not start with the origin %q", dest, base[:origin])
				}
				var parsed fasthttp.Request
				parsed.SetRequestURIBytes(dest)
				parsed.URI().DisablePathNormalizing = true
				req.Header.SetHostBytes(nil) // as stripRequestHeaders leaves it
				setDestinationURI(req.URI(), memo, dest[origin:])
				a, b := parsed.URI(), req.URI()
				for _, f := range []struct {
					what     string
					got, was []byte
				}{
					{"full URI", b.FullURI(), a.FullURI()}, {"scheme", b.Scheme(), a.Scheme()},
					{"host", b.Host(), a.Host()}, {"request URI", b.RequestURI(), a.RequestURI()},
					{"path", b.Path(), a.Path()}, {"query", b.QueryString(), a.QueryString()},
					{"username", b.Username(), a.Username()}, {"password", b.Password(), a.Password()},
					{"hash", b.Hash(), a.Hash()},
					{"written", written(t, &req), written(t, &parsed)},
				} {
					if string(f.got) != string(f.was) {
						t.Errorf("%s: %q set, %q parsed", f.what, f.got, f.was)
					}
				}
			})
		}
	}
}

// written is r as it goes out on the wire.
func written(t *testing.T, r *fasthttp.Request) []byte {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := r.Write(w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return b.Bytes()
}

// TestDestinationOriginRefusesFragmentsAndControlBytes: a base whose URLs could not be set part
// by part as parsed (a fragment, a control byte, no authority) is parsed per request.
func TestDestinationOriginRefusesFragmentsAndControlBytes(t *testing.T) {
	for _, tc := range []struct {
		base string
		want int
	}{
		{"http://h.test/p#f", 0},
		{"http://h.test/a\x01b", 0},
		{"http://h.test/a\x7fb", 0},
		{"h.test/p", 0},
		{"http://h.test", len("http://h.test")},
		{"http://h.test/p/q", len("http://h.test")},
		{"http://h.test?x=/y", len("http://h.test")},
	} {
		if got := destinationOrigin(tc.base); got != tc.want {
			t.Errorf("destinationOrigin(%q) = %d, want %d", tc.base, got, tc.want)
		}
	}
}
