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

// stripResponseHeaders removes from the destination's answer the headers that belong to its
// connection, the ones its Connection header names, and a BT-PROXY-DESTINATION-STATUS of its
// own. Content-Length and Transfer-Encoding stay: fasthttp frames the body by them.
func stripResponseHeaders(h *fasthttp.ResponseHeader) {
	var connBuf, nameBuf [128]byte
	conn := append(connBuf[:0], h.Peek("Connection")...) // a copy: Connection itself goes too
	for {
		k := droppableResponseHeader(h, conn, nameBuf[:0])
		if k == nil {
			return
		}
		h.DelBytes(k) // one at a time: deleting shifts what All yields
	}
}

// droppableResponseHeader appends to dst the name of the first header of h that must go, or
// returns nil.
func droppableResponseHeader(h *fasthttp.ResponseHeader, conn, dst []byte) []byte {
	for k := range h.All() {
		if bytes.EqualFold(k, []byte("Content-Length")) || bytes.EqualFold(k, []byte("Transfer-Encoding")) {
			continue
		}
		if bytes.EqualFold(k, []byte(headerDestinationStatus)) || namedIn(conn, k) {
			return append(dst, k...)
		}
		for _, hop := range hopByHop {
			if bytes.EqualFold(k, hop) {
				return append(dst, k...)
			}
		}
	}
	return nil
}
