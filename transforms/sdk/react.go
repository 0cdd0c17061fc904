package sdk

import (
	"errors"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// Result is what a reactor returns. Raw is answered to the caller as is;
// Tokenize is tokenized by the edge (as POST /tokenize does) and answered as
// "tokens". Each is one JSON value (e.g. from json.Marshal); nil leaves it
// out. The edge refuses invalid JSON and a result over its body limit.
type Result struct {
	Raw, Tokenize []byte
}

var (
	reactHandler func(args []byte) (*Result, error)
	argsBuf      []byte // reused across calls of one instance
	resultBuf    []byte
)

// HandleReact registers fn as the reactor. Call it from init. fn gets the
// resolved args of the react call (one JSON value; valid until fn returns,
// copy it to keep it). Returning a standard error or a CustomResponse ends
// the call as for transforms; a nil Result answers no raw and no tokens.
func HandleReact(fn func(args []byte) (*Result, error)) { reactHandler = fn }

func runReact() int32 {
	if reactHandler == nil {
		return fail("sdk: the module registered no react handler")
	}
	argsBuf = readAll(abi.WhatArgs, argsBuf)
	res, err := reactHandler(argsBuf)
	if err != nil {
		return end(err)
	}
	if res == nil {
		return abi.Continue
	}
	resultBuf = encodeResult(resultBuf[:0], res)
	switch hostWrite(abi.WhatReact, resultBuf) {
	case abi.OK:
		return abi.Continue
	case abi.ErrTooLarge:
		return fail("sdk: the reactor's result is over the edge's size limit")
	default:
		return fail("sdk: the reactor's result is not valid JSON")
	}
}

// encodeResult appends {"raw":…,"tokenize":…} with the members that are set.
func encodeResult(dst []byte, r *Result) []byte {
	dst = append(dst, '{')
	if r.Raw != nil {
		dst = append(append(dst, `"raw":`...), r.Raw...)
	}
	if r.Tokenize != nil {
		if r.Raw != nil {
			dst = append(dst, ',')
		}
		dst = append(append(dst, `"tokenize":`...), r.Tokenize...)
	}
	return append(dst, '}')
}

// HTTPRequest is a request a guest sends with Do.
type HTTPRequest struct {
	Method string // e.g. "POST"
	URL    string // absolute http or https URL
	Header Header
	Body   []byte
}

// HTTPResponse is the destination's whole response.
type HTTPResponse struct {
	Status int
	Header Header
	Body   []byte
}

// ErrHTTPUnavailable: the edge offers no http_request here.
var ErrHTTPUnavailable = errors.New("sdk: http_request is not available")

// Do sends r through the edge (sluice.http_request), with the edge's
// destination policy, TLS rules, timeouts and size limits, and returns the
// whole response. The time it takes counts against the call's deadline, and
// the edge caps the requests of one call. A non-2xx status is a response,
// not an error; an error names why the edge refused or failed the request.
func Do(r *HTTPRequest) (*HTTPResponse, error) {
	req := abi.AppendBytes(nil, r.Method)
	req = abi.AppendBytes(req, r.URL)
	req = encodeHeaders(req, r.Header)
	req = append(req, r.Body...)
	buf := make([]byte, 4096)
	n := hostHTTP(req, buf)
	switch {
	case n == abi.ErrNotAllowed:
		return nil, ErrHTTPUnavailable
	case n < 0:
		return nil, errors.New("sdk: " + string(readAll(abi.WhatResult, nil)))
	case int(n) <= len(buf):
		buf = buf[:n]
	default:
		buf = readAll(abi.WhatResult, make([]byte, n))
	}
	resp, ok := decodeResponse(buf)
	if !ok {
		return nil, errors.New("sdk: the edge sent a malformed response")
	}
	return resp, nil
}

// decodeResponse decodes u32 status, headers block, body; Body is a view of b.
func decodeResponse(b []byte) (*HTTPResponse, bool) {
	r := abi.NewReader(b)
	status, _ := r.U32()
	count, _ := r.U32()
	if r.Failed() || uint64(count)*8 > uint64(len(r.Rest())) {
		return nil, false
	}
	resp := &HTTPResponse{Status: int(status), Header: make(Header, count)}
	for i := range resp.Header {
		name, _ := r.Bytes()
		value, _ := r.Bytes()
		resp.Header[i] = Field{string(name), string(value)}
	}
	if r.Failed() {
		return nil, false
	}
	resp.Body = r.Rest()
	return resp, true
}
