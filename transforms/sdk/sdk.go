package sdk

import (
	"errors"
	"strings"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// Field is one header field.
type Field struct {
	Name, Value string
}

// Header is an ordered list of header fields. Names are matched ASCII
// case-insensitively and kept as written.
type Header []Field

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the values of every field named name, in order.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Set replaces the fields named name with one field, at the position of the
// first one (or at the end).
func (h *Header) Set(name, value string) {
	for i, f := range *h {
		if strings.EqualFold(f.Name, name) {
			(*h)[i].Value = value
			h.del(name, i+1)
			return
		}
	}
	*h = append(*h, Field{name, value})
}

// Add appends a field.
func (h *Header) Add(name, value string) { *h = append(*h, Field{name, value}) }

// Del removes every field named name.
func (h *Header) Del(name string) { h.del(name, 0) }

func (h *Header) del(name string, from int) {
	out := (*h)[:from]
	for _, f := range (*h)[from:] {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	clear((*h)[len(out):])
	*h = out
}

func (h Header) equal(o Header) bool {
	if len(h) != len(o) {
		return false
	}
	for i := range h {
		if h[i] != o[i] {
			return false
		}
	}
	return true
}

// body is the lazily read body of the current message.
type body struct {
	data        []byte
	loaded, set bool
}

// bodyBuf is reused across calls of one instance.
var bodyBuf []byte

func (b *body) get() []byte {
	if !b.loaded {
		bodyBuf = readAll(abi.WhatBody, bodyBuf)
		b.data, b.loaded = bodyBuf, true
	}
	return b.data
}

// Request is the request a request transform sees. Method is read-only;
// assign Path, Query and Header to replace them.
type Request struct {
	Method string
	Path   string // e.g. "/v1/charges" (the part after /proxy)
	Query  string // without '?'
	Header Header
	body   body
}

// Body returns the whole request body. The slice is valid until the handler
// returns (its memory is reused by the next call); copy it to keep it.
func (r *Request) Body() []byte { return r.body.get() }

// SetBody replaces the request body. The SDK reads b after the handler
// returns.
func (r *Request) SetBody(b []byte) { r.body.data, r.body.loaded, r.body.set = b, true, true }

// Response is the destination's response a response transform sees.
type Response struct {
	Status int
	Header Header
	body   body
}

// Body returns the whole response body; as Request.Body.
func (r *Response) Body() []byte { return r.body.get() }

// SetBody replaces the response body.
func (r *Response) SetBody(b []byte) { r.body.data, r.body.loaded, r.body.set = b, true, true }

// Kind is the kind of a standard error.
type Kind int

// The standard errors (Basis Theory reactor errors); the values are the
// ABI's end kinds.
const (
	KindAuthentication       Kind = 1 // 401
	KindAuthorization        Kind = 2 // 403
	KindBadRequest           Kind = 3 // 400
	KindInvalidPaymentMethod Kind = 4 // 402
	KindRateLimit            Kind = 5 // 429
	KindServiceUnavailable   Kind = 6 // 503
	KindReactorRuntime       Kind = 7 // 500
)

var kindNames = map[Kind]string{
	KindAuthentication: "AuthenticationError", KindAuthorization: "AuthorizationError",
	KindBadRequest: "BadRequestError", KindInvalidPaymentMethod: "InvalidPaymentMethodError",
	KindRateLimit: "RateLimitError", KindServiceUnavailable: "ServiceUnavailableError",
	KindReactorRuntime: "ReactorRuntimeError",
}

// String returns the error's name, e.g. "AuthenticationError".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "UnknownError"
}

// Error is a standard error: returned by a handler, it ends the exchange
// and the edge answers with the kind's status and the messages.
type Error struct {
	Kind     Kind
	Messages []string
}

func (e *Error) Error() string {
	return "sdk: " + e.Kind.String() + ": " + strings.Join(e.Messages, "; ")
}

// AuthenticationError ends the exchange with 401.
func AuthenticationError(messages ...string) error { return &Error{KindAuthentication, messages} }

// AuthorizationError ends the exchange with 403.
func AuthorizationError(messages ...string) error { return &Error{KindAuthorization, messages} }

// BadRequestError ends the exchange with 400.
func BadRequestError(messages ...string) error { return &Error{KindBadRequest, messages} }

// InvalidPaymentMethodError ends the exchange with 402.
func InvalidPaymentMethodError(messages ...string) error {
	return &Error{KindInvalidPaymentMethod, messages}
}

// RateLimitError ends the exchange with 429.
func RateLimitError(messages ...string) error { return &Error{KindRateLimit, messages} }

// ServiceUnavailableError ends the exchange with 503.
func ServiceUnavailableError(messages ...string) error {
	return &Error{KindServiceUnavailable, messages}
}

// ReactorRuntimeError ends the exchange with 500.
func ReactorRuntimeError(messages ...string) error { return &Error{KindReactorRuntime, messages} }

// CustomResponse, returned by a handler (as a value or a pointer), ends the
// exchange with exactly this status (100–599), header and body.
type CustomResponse struct {
	Status int
	Header Header
	Body   []byte
}

func (c CustomResponse) Error() string { return "sdk: custom response" }

var (
	requestHandler  func(*Request) error
	responseHandler func(*Response) error
)

// HandleRequest registers fn as the request transform. Call it from init.
func HandleRequest(fn func(*Request) error) { requestHandler = fn }

// HandleResponse registers fn as the response transform. Call it from init.
func HandleResponse(fn func(*Response) error) { responseHandler = fn }

// Config returns the proxy's configuration value name, or "".
func Config(name string) string {
	v, _ := LookupConfig(name)
	return v
}

// LookupConfig returns the proxy's configuration value name and whether it
// is set.
func LookupConfig(name string) (string, bool) {
	var buf [256]byte
	n := hostConfig(name, buf[:])
	if n < 0 {
		return "", false
	}
	if int(n) <= len(buf) {
		return string(buf[:n]), true
	}
	big := make([]byte, n)
	if m := hostConfig(name, big); m != n {
		return "", false
	}
	return string(big), true
}

// Tokenize vaults data (JSON, e.g. `"4242424242424242"` or
// `{"number":"…"}`) as a new token of tokenType with the permissions of the
// application that invoked the proxy, and returns the token's id.
func Tokenize(tokenType string, data []byte) (string, error) {
	var buf [128]byte
	n := hostTokenize(tokenType, data, buf[:])
	switch {
	case n >= 0 && int(n) <= len(buf):
		return string(buf[:n]), nil
	case n >= 0:
		return string(readAll(abi.WhatResult, nil)), nil
	case n == abi.ErrFailed, n == abi.ErrTooLarge: // the result names the failure or the cap
		return "", errors.New("sdk: " + string(readAll(abi.WhatResult, nil)))
	default:
		return "", errors.New("sdk: tokenize is not available")
	}
}

// Log writes msg to the edge's log for this transform (bounded per call,
// never shown to API callers).
func Log(msg string) { hostLog(msg) }

// readAll reads item what into buf (grown as needed) and returns it.
func readAll(what uint32, buf []byte) []byte {
	if cap(buf) < 512 {
		buf = make([]byte, 512)
	}
	buf = buf[:cap(buf)]
	for {
		n := hostRead(what, buf)
		if n < 0 {
			return buf[:0]
		}
		if int(n) <= len(buf) {
			return buf[:n]
		}
		buf = make([]byte, n)
	}
}

// headerRoom is the room left after the headers read, for the ones a transform adds without
// the slice growing (a copy, and garbage for the guest's collector).
const headerRoom = 4

var (
	headersOut []byte // the encoded headers sent back; reused (the edge copies them)
	headBuf    []byte
	origBuf    Header // the headers as read, to detect changes; reused
)

// readHead returns method, path, query, status and headers of the message.
// All strings are substrings of one copy of the head: one allocation for
// the strings, one for the Header slice, however many headers there are
// (allocation is the main cost of Go code in wasm).
func readHead() (method, path, query string, status int, h Header, ok bool) {
	headBuf = readAll(abi.WhatHead, headBuf)
	r := strReader{s: string(headBuf)}
	method, path, query = r.str(), r.str(), r.str()
	status = int(r.u32())
	n := r.u32()
	if r.bad || uint64(n)*8 > uint64(len(r.s)) {
		return "", "", "", 0, nil, false
	}
	h = make(Header, n, n+headerRoom)
	for i := range h {
		h[i].Name, h[i].Value = r.str(), r.str()
	}
	if r.bad {
		return "", "", "", 0, nil, false
	}
	return method, path, query, status, h, true
}

// strReader decodes the ABI encodings from a string without allocating.
type strReader struct {
	s   string
	pos int
	bad bool
}

func (r *strReader) u32() uint32 {
	if r.bad || len(r.s)-r.pos < 4 {
		r.bad = true
		return 0
	}
	p := r.s[r.pos:]
	r.pos += 4
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

func (r *strReader) str() string {
	n := r.u32()
	if r.bad || uint64(n) > uint64(len(r.s)-r.pos) {
		r.bad = true
		return ""
	}
	v := r.s[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return v
}

func encodeHeaders(dst []byte, h Header) []byte {
	dst = abi.AppendU32(dst, uint32(len(h)))
	for _, f := range h {
		dst = abi.AppendBytes(dst, f.Name)
		dst = abi.AppendBytes(dst, f.Value)
	}
	return dst
}

func runRequest() int32 {
	if requestHandler == nil {
		return abi.Continue
	}
	method, path, query, _, h, ok := readHead()
	if !ok {
		return fail("sdk: the edge sent a malformed head")
	}
	r := &Request{Method: method, Path: path, Query: query, Header: h}
	origBuf = append(origBuf[:0], h...)
	orig := origBuf
	if err := requestHandler(r); err != nil {
		return end(err)
	}
	if r.Path != path && hostWrite(abi.WhatPath, []byte(r.Path)) != abi.OK {
		return fail("sdk: the transform set an invalid path")
	}
	if r.Query != query && hostWrite(abi.WhatQuery, []byte(r.Query)) != abi.OK {
		return fail("sdk: the transform set an invalid query")
	}
	return finish(r.Header, orig, &r.body)
}

func runResponse() int32 {
	if responseHandler == nil {
		return abi.Continue
	}
	_, _, _, status, h, ok := readHead()
	if !ok {
		return fail("sdk: the edge sent a malformed head")
	}
	r := &Response{Status: status, Header: h}
	origBuf = append(origBuf[:0], h...)
	orig := origBuf
	if err := responseHandler(r); err != nil {
		return end(err)
	}
	if r.Status != status && hostSetStatus(int32(r.Status)) != abi.OK {
		return fail("sdk: the transform set an invalid status")
	}
	return finish(r.Header, orig, &r.body)
}

func finish(h, orig Header, b *body) int32 {
	if !h.equal(orig) {
		headersOut = encodeHeaders(headersOut[:0], h)
		if hostWrite(abi.WhatHeaders, headersOut) != abi.OK {
			return fail("sdk: the transform set an invalid header")
		}
	}
	if b.set && hostWrite(abi.WhatBody, b.data) != abi.OK {
		return fail("sdk: the edge refused the body")
	}
	return abi.Continue
}

// end ends the exchange with err.
func end(err error) int32 {
	var e *Error
	var c CustomResponse
	var cp *CustomResponse
	switch {
	case errors.As(err, &e):
		payload := abi.AppendU32(nil, uint32(len(e.Messages)))
		for _, m := range e.Messages {
			payload = abi.AppendBytes(payload, m)
		}
		if hostEnd(uint32(e.Kind), payload) != abi.OK {
			return fail("sdk: the transform returned an invalid " + e.Kind.String())
		}
		return abi.Ended
	case errors.As(err, &cp) && cp != nil:
		c = *cp
	case errors.As(err, &c):
	default:
		Log("transform error: " + err.Error())
		return fail("transform failed")
	}
	payload := abi.AppendU32(nil, uint32(c.Status))
	payload = encodeHeaders(payload, c.Header)
	payload = append(payload, c.Body...)
	if hostEnd(abi.KindCustomResponse, payload) != abi.OK {
		return fail("sdk: the transform returned an invalid custom response")
	}
	return abi.Ended
}

// fail logs msg and ends the exchange with ReactorRuntimeError(msg).
func fail(msg string) int32 {
	Log(msg)
	payload := abi.AppendBytes(abi.AppendU32(nil, 1), msg)
	hostEnd(abi.KindReactorRuntimeError, payload)
	return abi.Ended
}
