package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// hopByHop are the headers that belong to one connection, never forwarded (RFC 9110 §7.6.1),
// plus the ones fasthttp computes itself and the caller's credentials; by length, so that a name
// is compared (case-insensitively) only with those of its own length.
var hopByHop = byLength("Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
	"X-Footprint-Secret-Key")

// Header names in fasthttp's canonical form (as it stores the names it parses), for
// PeekCanonical and SetCanonical: looking a name up by a string makes fasthttp copy and
// re-canonicalize it first, ~300 instructions a call.
var (
	nameConnection        = []byte("Connection")
	nameCookie            = []byte("Cookie")
	nameKeepAlive         = []byte("Keep-Alive")
	nameBTProxyKeepAlive  = []byte("Bt-Proxy-Keep-Alive")
	nameBTProxyConnection = []byte("Bt-Proxy-Connection")
	nameBTProxyKey        = []byte("Bt-Proxy-Key")
	nameBTProxyURL        = []byte("Bt-Proxy-Url")
	nameBTEncrypted       = []byte("Bt-Encrypted")
	nameDestinationStatus = []byte("Bt-Proxy-Destination-Status")
)

// byLength groups names by their length.
func byLength(names ...string) [][][]byte {
	var t [][][]byte
	for _, n := range names {
		for len(t) <= len(n) {
			t = append(t, nil)
		}
		t[len(n)] = append(t[len(n)], []byte(n))
	}
	return t
}

// isHopByHop reports whether name is one of hopByHop, in any case.
func isHopByHop(name []byte) bool {
	if len(name) >= len(hopByHop) {
		return false
	}
	for _, h := range hopByHop[len(name)] {
		if equalFoldASCII(name, h) {
			return true
		}
	}
	return false
}

// equalFoldASCII is bytes.EqualFold(k, name) for an ASCII name, without its Unicode folding:
// only an ASCII string of name's length folds to it (FuzzEqualFoldASCII).
func equalFoldASCII(k, name []byte) bool {
	if len(k) != len(name) {
		return false
	}
	for i, c := range k {
		if d := name[i]; c != d && (c|0x20 != d|0x20 || c|0x20 < 'a' || c|0x20 > 'z') {
			return false
		}
	}
	return true
}

// skipForward reports whether a request header must not reach the destination: every BT-*
// header (BT-API-KEY above all) but BT-TRACE-ID, which names the request along its way,
// hop-by-hop headers and the caller's secret-key header.
func skipForward(name []byte) bool {
	if len(name) >= 3 && (name[0]|0x20) == 'b' && (name[1]|0x20) == 't' && name[2] == '-' {
		return !equalFoldASCII(name, edge.NameTraceID)
	}
	return isHopByHop(name)
}

// copyRequestHeaders copies the caller's headers to the destination request, minus what
// skipForward drops and minus headers the caller's Connection header names, and maps
// BT-PROXY-KEEP-ALIVE / BT-PROXY-CONNECTION to Keep-Alive / Connection. Values are copied
// as they are; expressions in them are resolved later (detokenizeHeaders).
func copyRequestHeaders(dst, src *fasthttp.RequestHeader) {
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

// namePlan reads a header's names once, before anything is deleted: the names to drop (copied:
// deleting shifts what fasthttp's All yields), and whether kept names repeat. fasthttp's Del
// moves the last header into the deleted one's place, which can swap two values of one name, so
// deleting in place is only for headers whose kept names are distinct (by a hash of the
// lower-cased name: a collision only takes the slower, copying path). More headers than the
// arrays hold also take the copying path.
// (The arrays are sized for usual requests, and small: a plan is zeroed on every request.)
type namePlan struct {
	hashes [24]uint64
	kept   int
	drops  [12]struct{ off, n uint16 } // in names
	ndrop  int
	names  [256]byte
	used   int
	spill  bool // too many kept or dropped names to plan: copy
}

func (p *namePlan) add(name []byte, drop bool) {
	if drop {
		if p.ndrop == len(p.drops) || p.used+len(name) > len(p.names) {
			p.spill = true
			return
		}
		p.drops[p.ndrop] = struct{ off, n uint16 }{uint16(p.used), uint16(len(name))}
		p.used += copy(p.names[p.used:], name)
		p.ndrop++
		return
	}
	if p.kept == len(p.hashes) {
		p.spill = true
		return
	}
	x := foldedNameHash(name)
	for _, y := range p.hashes[:p.kept] {
		p.spill = p.spill || x == y
	}
	p.hashes[p.kept] = x
	p.kept++
}

// foldedNameHash hashes name with every byte's 0x20 bit set (ASCII letters in lower case), eight
// bytes at a time: equal names in any case hash alike. Its length is hashed too, so the zero
// padding of the last word does not make "a" and "a\x00" (or "a ") collide more than by chance.
func foldedNameHash(name []byte) uint64 {
	const fold, prime = 0x2020202020202020, 0x100000001b3 // FNV-1a's prime
	x := uint64(14695981039346656037) ^ uint64(len(name))
	for ; len(name) >= 8; name = name[8:] {
		x = (x ^ (binary.LittleEndian.Uint64(name) | fold)) * prime
		x ^= x >> 29
	}
	if len(name) > 0 {
		var w [8]byte
		copy(w[:], name)
		x = (x ^ (binary.LittleEndian.Uint64(w[:]) | fold)) * prime
		x ^= x >> 29
	}
	return x
}

// name is the i-th name to drop.
func (p *namePlan) name(i int) []byte {
	d := p.drops[i]
	return p.names[d.off : d.off+d.n]
}

var errHeaderStuck = errors.New("a header that must not be forwarded could not be removed")

// stripRequestHeaders edits the caller's headers in place into the destination's (the result
// of copyRequestHeaders). ok is false, and nothing changed, when kept names repeat: copy them
// instead. An error means the request must not be sent.
func stripRequestHeaders(h *fasthttp.RequestHeader) (ok bool, err error) {
	var connBuf [128]byte
	conn := append(connBuf[:0], h.PeekCanonical(nameConnection)...) // copies: the headers go below
	drop := func(k []byte) bool { return skipForward(k) || namedIn(conn, k) }
	var p namePlan
	mapped := false // a BT-PROXY-KEEP-ALIVE or BT-PROXY-CONNECTION to map: looked up only then
	for k := range h.All() {
		d := drop(k)
		mapped = mapped || d && (len(k) == len(nameBTProxyKeepAlive) || len(k) == len(nameBTProxyConnection))
		p.add(k, d)
	}
	if p.spill {
		return false, nil
	}
	if p.ndrop == 0 {
		return true, nil
	}
	var keepAlive, connection []byte
	if mapped {
		var keepAliveBuf, connectionBuf [128]byte
		keepAlive = append(keepAliveBuf[:0], h.PeekCanonical(nameBTProxyKeepAlive)...)
		connection = append(connectionBuf[:0], h.PeekCanonical(nameBTProxyConnection)...)
	}
	// The names are deleted exactly as the header stores them (they were read from it),
	// without fasthttp re-canonicalizing each one first.
	wasRaw := h.DisableNormalizing()
	for i := range p.ndrop {
		delRequestHeader(h, p.name(i))
	}
	if !wasRaw {
		h.EnableNormalizing()
	}
	for name := range h.All() { // fail closed: nothing that must go may stay
		if drop(name) {
			return true, errHeaderStuck
		}
	}
	if len(keepAlive) > 0 {
		h.SetCanonical(nameKeepAlive, keepAlive)
	}
	if len(connection) > 0 {
		h.SetCanonical(nameConnection, connection)
	}
	return true, nil
}

// delRequestHeader deletes the header name (as h stores it). fasthttp keeps Host in a field of
// its own, which emptying clears without DelBytes' copy, check and lookup (~290 instructions).
func delRequestHeader(h *fasthttp.RequestHeader, name []byte) {
	if string(name) == "Host" {
		h.SetHostBytes(nil)
		return
	}
	h.DelBytes(name)
}

// stripResponseHeaders removes from the destination's answer the headers that belong to its
// connection, the ones its Connection header names, and a BT-PROXY-DESTINATION-STATUS of its
// own — in place, or by copying when kept names repeat. Content-Length and Transfer-Encoding
// stay: fasthttp frames the body by them.
func stripResponseHeaders(h *fasthttp.ResponseHeader) error {
	var connBuf [128]byte
	conn := append(connBuf[:0], h.PeekCanonical(nameConnection)...)
	drop := func(k []byte) bool { return dropResponseHeader(k, conn) }
	http11 := bytes.Equal(h.Protocol(), []byte("HTTP/1.1"))
	if http11 && !anyHeader(h, drop) {
		return nil // the usual answer: nothing to do, and no plan to make
	}
	var p namePlan
	for k := range h.All() {
		p.add(k, drop(k))
	}
	if p.spill || !http11 {
		// The stable way, which also answers an HTTP/1.1 caller in HTTP/1.1 whatever the
		// destination spoke: copy what stays into a fresh header, then back.
		tmp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(tmp)
		copyResponseHeaders(&tmp.Header, h)
		tmp.Header.SetStatusCode(h.StatusCode())
		tmp.Header.SetContentLength(max(h.ContentLength(), -1)) // unknown length: chunked
		tmp.Header.CopyTo(h)
		return nil
	}
	wasRaw := h.DisableNormalizing() // as in stripRequestHeaders
	for i := range p.ndrop {
		h.DelBytes(p.name(i))
	}
	if !wasRaw {
		h.EnableNormalizing()
	}
	for name := range h.All() { // fail closed
		if drop(name) {
			return errHeaderStuck
		}
	}
	return nil
}

// anyHeader reports whether a name of h is one that match reports.
func anyHeader(h *fasthttp.ResponseHeader, match func([]byte) bool) bool {
	for k := range h.All() {
		if match(k) {
			return true
		}
	}
	return false
}

// dropResponseHeader reports whether the destination's header k goes (conn: its Connection
// header's value). Without a Connection list only a name of a length in responseDropLengths can
// go: most names are told apart by their length alone (FuzzDropResponseHeaderLengthFilter).
func dropResponseHeader(k, conn []byte) bool {
	if len(conn) == 0 && (len(k) >= 64 || responseDropLengths&(1<<len(k)) == 0) {
		return false
	}
	return dropResponseHeaderAny(k, conn)
}

// responseDropLengths has bit n set when dropResponseHeaderAny may drop a name of n bytes
// without a Connection list: the hop-by-hop names' lengths and BT-PROXY-DESTINATION-STATUS's
// (Content-Length and Transfer-Encoding, kept, are the only names of theirs).
var responseDropLengths = func() (m uint64) {
	for n, names := range hopByHop {
		for _, h := range names {
			if !equalFoldSameLen(h, "Content-Length") && !equalFoldSameLen(h, "Transfer-Encoding") {
				m |= 1 << n
			}
		}
	}
	return m | 1<<len(edge.HeaderDestinationStatus)
}()

// dropResponseHeaderAny is dropResponseHeader for any name, compared in full.
func dropResponseHeaderAny(k, conn []byte) bool {
	if equalFoldSameLen(k, "Content-Length") || equalFoldSameLen(k, "Transfer-Encoding") {
		return false
	}
	return equalFoldSameLen(k, edge.HeaderDestinationStatus) || isHopByHop(k) || namedIn(conn, k)
}

// equalFoldSameLen is bytes.EqualFold for an ASCII name (equalFoldASCII).
func equalFoldSameLen(k []byte, name string) bool {
	return equalFoldASCII(k, []byte(name))
}

// copyResponseHeaders copies the destination's headers to dst, minus what dropResponseHeader
// drops.
func copyResponseHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader) {
	conn := src.Peek("Connection")
	for k, v := range src.All() {
		switch {
		case dropResponseHeader(k, conn) || bytes.EqualFold(k, []byte("Content-Length")):
		case bytes.EqualFold(k, []byte("Content-Type")):
			dst.SetContentTypeBytes(v)
		case bytes.EqualFold(k, []byte("Server")):
			dst.SetServerBytes(v)
		default:
			dst.AddBytesKV(k, v)
		}
	}
}
