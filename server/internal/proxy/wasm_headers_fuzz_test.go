package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/transforms"
)

// FuzzReplaceRequestHeadersAgreesWithReset: replaceRequestHeaders, which adds only what a guest
// appended to the headers it was shown when that is safe (keepsGiven), leaves the request as
// resetting its header and adding all of the guest's headers does — the header as written, its
// special fields, and the whole request — for requests parsed from any header block, with and
// without the edits forward makes first, and guests that append, drop or change headers.
func FuzzReplaceRequestHeadersAgreesWithReset(f *testing.F) {
	for _, s := range []struct {
		block, extra string
	}{
		{"Host: a\r\nContent-Type: application/json\r\nContent-Length: 2", "x-tiny: 1"},
		{"Content-Type: application/json\r\nUser-Agent: ua", "X-Tiny: 1\nAuthorization: b"},
		{"Connection: close\r\nX-A: 1", "x-b: 2"},
		{"Cookie: a=b;c\r\nX-A: 1", "x-b: 2"},
		{"User-Agent:\r\nx-lower: v", "User-Agent: other"},
		{"Trailer: X-T\r\nTransfer-Encoding: chunked\r\nX-A: 1", "X-T: 1"},
		{"BT-PROXY-CONNECTION: close\r\nBT-PROXY-KEEP-ALIVE: 5\r\nX-A: 1", "Keep-Alive: 1\nConnection: x"},
		{"X-A: 1\r\nX-A: 2\r\nx-a: 3", "Content-Type: text/plain\nHost: h"},
		{"X-Fold: a\r\n b\r\nContent-Type: text/plain; charset=utf-8", "bt-api-key: k\nBT-TRACE-ID: t"},
	} {
		for mode := range uint8(8) {
			f.Add([]byte(s.block), []byte(s.extra), mode)
		}
	}
	f.Fuzz(func(t *testing.T, block, extra []byte, mode uint8) {
		want, ok := replacedRequest(t, block, extra, mode, false)
		if !ok {
			return
		}
		got, _ := replacedRequest(t, block, extra, mode, true)
		if got != want {
			t.Fatalf("block %q extra %q mode %d:\nreplaceRequestHeaders %s\nreset                 %s", block, extra, mode, got, want)
		}
	})
}

// replacedRequest parses a request with the header block, lets a guest replace its headers (the
// ones it was shown, then extra's "Name: value" lines; mode&2 drops or changes one shown header)
// and describes the result; mode&4 skips the edits forward makes first. fast picks
// replaceRequestHeaders, else resetRequestHeaders. ok is false when the block does not parse or
// forward would refuse it.
func replacedRequest(t *testing.T, block, extra []byte, mode uint8, fast bool) (string, bool) {
	t.Helper()
	proto := " HTTP/1.1\r\n"
	if mode&1 != 0 {
		proto = " HTTP/1.0\r\n"
	}
	raw := append(append([]byte("POST /p"+proto), block...), "\r\n\r\n"...)
	var caller fasthttp.Request
	if err := caller.Header.Read(bufio.NewReader(bytes.NewReader(raw))); err != nil {
		return "", false
	}
	req := &caller
	inPlace := true
	if mode&4 == 0 {
		var err error
		if inPlace, err = stripRequestHeaders(&req.Header); err != nil { // what forward does first
			return "", false
		}
	}
	if !inPlace {
		req = new(fasthttp.Request)
		req.Header.SetMethodBytes(caller.Header.Method())
		req.Header.SetRequestURI("/p")
		copyRequestHeaders(&req.Header, &caller.Header)
	}
	req.URI().SetHost("dest.example")

	var given, hs []transforms.Header
	for k, v := range req.Header.All() {
		given = append(given, transforms.Header{Name: k, Value: v})
		hs = append(hs, transforms.Header{Name: bytes.Clone(k), Value: bytes.Clone(v)}) // the guest's copy
	}
	if mode&2 != 0 && len(hs) > 0 {
		if len(extra)%2 == 0 {
			hs = hs[:len(hs)-1]
		} else {
			hs[0].Value = append(hs[0].Value, 'x')
		}
	}
	for line := range bytes.SplitSeq(extra, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(": "))
		if ok && validGuestHeader(name, value) {
			hs = append(hs, transforms.Header{Name: name, Value: value})
		}
	}
	x := &exchange{}
	if fast {
		replaceRequestHeaders(x, &req.Header, given, hs)
	} else {
		resetRequestHeaders(x, &req.Header, hs)
	}
	h := &req.Header
	desc := fmt.Sprintf("header %q close=%v cl=%d host=%q ct=%q ua=%q http11=%v proto=%q;",
		h.Header(), h.ConnectionClose(), h.ContentLength(), h.Host(), h.ContentType(), h.UserAgent(), h.IsHTTP11(), h.Protocol())
	req.SetBodyString(`{"a":1}`)
	return desc + fmt.Sprintf("request %q", req.String()), true
}

// validGuestHeader is a conservative stand-in for what the transforms ABI lets a guest write: a
// token name, a value of visible ASCII, spaces and tabs.
func validGuestHeader(name, value []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	for _, c := range value {
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}
