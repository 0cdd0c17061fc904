package transforms

import (
	"bytes"
	"testing"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

func encodeGuestRequest(method, url string, body string, pairs ...string) []byte {
	b := abi.AppendBytes(abi.AppendBytes(nil, method), url)
	b = abi.AppendU32(b, uint32(len(pairs)/2))
	for _, p := range pairs {
		b = abi.AppendBytes(b, p)
	}
	return append(b, body...)
}

// FuzzGuestHTTPRequest: the decoder of http_request's argument (untrusted
// guest memory) never panics, and what it accepts re-encodes to the same
// bytes, with a token method, an http(s) URL with a host, headers a guest
// may write, and a body within the limit.
func FuzzGuestHTTPRequest(f *testing.F) {
	const maxBody = 64
	for _, seed := range [][]byte{
		encodeGuestRequest("POST", "https://api.example.com/v1/charges?x=1", `{"card":"4242"}`, "Content-Type", "application/json"),
		encodeGuestRequest("GET", "http://127.0.0.1:8080/", ""),
		encodeGuestRequest("GET", "https://h/", "", "X-A", "a\r\nInjected: 1"),
		encodeGuestRequest("GET", "file:///etc/passwd", ""),
		encodeGuestRequest("GET", "https://h/a b", ""),
		encodeGuestRequest("G T", "https://h/", ""),
		encodeGuestRequest("GET", "//h/", ""),
		encodeGuestRequest("GET", "https:opaque", ""),
		encodeGuestRequest("GET", "https://h/", string(make([]byte, maxBody+1))),
		{0xff, 0xff, 0xff, 0xff},
		abi.AppendU32(encodeGuestRequest("GET", "https://h/", "")[:17], 0xffffffff),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeGuestRequest(b, maxBody)
		if err != nil {
			if req != nil {
				t.Fatal("request returned with an error")
			}
			return
		}
		if !abi.ValidHeaderName(req.Method) || !validURL(req.URL) || len(req.Body) > maxBody {
			t.Fatalf("accepted method %q url %q body %d", req.Method, req.URL, len(req.Body))
		}
		again := abi.AppendBytes(abi.AppendBytes(nil, req.Method), req.URL)
		again = abi.AppendU32(again, uint32(len(req.Header)))
		for _, h := range req.Header {
			if !abi.ValidHeaderName(h.Name) || !abi.ValidHeaderValue(h.Value) {
				t.Fatalf("accepted header %q: %q", h.Name, h.Value)
			}
			again = abi.AppendBytes(abi.AppendBytes(again, string(h.Name)), string(h.Value))
		}
		if again = append(again, req.Body...); !bytes.Equal(again, b) {
			t.Fatalf("decoded %q as %+v", b, req)
		}
	})
}
