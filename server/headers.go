package server

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// hopByHop are the headers that belong to one connection, never forwarded (RFC 9110 §7.6.1),
// plus the ones fasthttp computes itself and the caller's credentials.
var hopByHop = [][]byte{
	[]byte("Connection"), []byte("Keep-Alive"), []byte("Proxy-Connection"), []byte("Proxy-Authenticate"),
	[]byte("Proxy-Authorization"), []byte("Te"), []byte("Trailer"), []byte("Transfer-Encoding"),
	[]byte("Upgrade"), []byte("Host"), []byte("Content-Length"),
	[]byte("X-Footprint-Secret-Key"),
}

// skipForward reports whether a request header must not reach the destination: every BT-*
// header (BT-API-KEY above all), hop-by-hop headers and the caller's secret-key header.
func skipForward(name []byte) bool {
	if len(name) >= 3 && (name[0]|0x20) == 'b' && (name[1]|0x20) == 't' && name[2] == '-' {
		return true
	}
	for _, h := range hopByHop {
		if bytes.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// copyRequestHeaders copies the caller's headers to the destination request, minus what
// skipForward drops and minus headers the caller's Connection header names, and maps
// BT-PROXY-KEEP-ALIVE / BT-PROXY-CONNECTION to Keep-Alive / Connection. Values are copied
// as they are; expressions in them are resolved later (detokenizeHeaders).
func copyRequestHeaders(dst, src *fasthttp.RequestHeader) error {
	conn := src.Peek("Connection")
	for k, v := range src.All() {
		if skipForward(k) || namedIn(conn, k) {
			continue
		}
		dst.AddBytesKV(k, v)
	}
	if v := src.Peek("BT-PROXY-KEEP-ALIVE"); len(v) > 0 {
		dst.SetBytesV("Keep-Alive", v)
	}
	if v := src.Peek("BT-PROXY-CONNECTION"); len(v) > 0 {
		dst.SetBytesV("Connection", v)
	}
	return nil
}

// namedIn reports whether the comma-separated Connection value list names name.
func namedIn(list, name []byte) bool {
	for len(list) > 0 {
		var item []byte
		item, list, _ = bytes.Cut(list, []byte(","))
		if bytes.EqualFold(bytes.TrimSpace(item), name) {
			return true
		}
	}
	return false
}

// copyResponseHeaders copies the destination's headers to the caller's response, minus
// hop-by-hop ones (fasthttp writes its own framing).
func copyResponseHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader) {
	conn := src.Peek("Connection")
	for k, v := range src.All() {
		if namedIn(conn, k) {
			continue
		}
		skip := false
		for _, h := range hopByHop {
			if bytes.EqualFold(k, h) {
				skip = true
				break
			}
		}
		if skip || bytes.EqualFold(k, []byte(headerDestinationStatus)) {
			continue
		}
		if bytes.EqualFold(k, []byte("Content-Type")) {
			dst.SetContentTypeBytes(v)
			continue
		}
		if bytes.EqualFold(k, []byte("Server")) {
			dst.SetServerBytes(v)
			continue
		}
		dst.AddBytesKV(k, v)
	}
}
