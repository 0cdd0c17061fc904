package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestDestinationHostMemoParsesAsWithout: a destination request primed with the proxy's parsed
// destination (destinationHostMemo) ends with the URI fasthttp gives without it — scheme, host
// (case, port, userinfo, IPv6), path, query and fragment — and a URI naming
// another host than the memo's is parsed in full.
func TestDestinationHostMemoParsesAsWithout(t *testing.T) {
	for _, tc := range []struct{ name, base, dest string }{
		{"plain", "http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/charges?a=b"},
		{"https with base path", "https://API.Example.com/v1/", "https://API.Example.com/v1/x/y"},
		{"userinfo", "http://u:p%41@h.test:81/base", "http://u:p%41@h.test:81/base/z?q=1"},
		{"ipv6", "http://[::1]:9000", "http://[::1]:9000/a%2Fb"},
		{"upper-case scheme and host", "HTTP://H.Test", "HTTP://H.Test/p"},
		{"fragment in base", "http://h.test/p#f", "http://h.test/p#f/rest?x"},
		{"other host than the memo", "http://a.test", "http://b.test/p"},
		{"control byte", "http://h.test", "http://h.test/a\x01b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plain, primed fasthttp.Request
			plain.SetRequestURI(tc.dest)
			memo := destinationHostMemo(tc.base)
			if memo == nil {
				t.Fatalf("destinationHostMemo(%q) = nil", tc.base)
			}
			primed.SetURI(memo)
			primed.SetRequestURI(tc.dest)
			a, b := plain.URI(), primed.URI()
			a.DisablePathNormalizing, b.DisablePathNormalizing = true, true
			for _, f := range []struct {
				what     string
				got, was []byte
			}{
				{"full URI", b.FullURI(), a.FullURI()}, {"scheme", b.Scheme(), a.Scheme()},
				{"host", b.Host(), a.Host()}, {"request URI", b.RequestURI(), a.RequestURI()},
				{"username", b.Username(), a.Username()}, {"password", b.Password(), a.Password()},
				{"hash", b.Hash(), a.Hash()},
			} {
				if string(f.got) != string(f.was) {
					t.Errorf("%s: %q with the memo, %q without", f.what, f.got, f.was)
				}
			}
		})
	}
}
