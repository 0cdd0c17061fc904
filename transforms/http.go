package transforms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// HTTPDoer performs the guests' sluice.http_request calls. The server
// implements it with the proxy's destination policy, dialer, TLS rules and
// timeouts, and counts the calls in its metrics and request log.
type HTTPDoer interface {
	// Do sends req and returns the response. ctx ends at the guest call's
	// deadline (or when the context given to OnRequest, OnResponse or
	// OnReact does, whose values it carries): Do must return by then, and
	// the response body must stop yielding data. The engine reads at most
	// req.MaxResponseBytes + 1 bytes of the body and closes it; a doer that
	// buffers may refuse a longer body itself. The error's text is shown to
	// the guest, so it must not contain secrets.
	Do(ctx context.Context, req *GuestRequest) (*GuestResponse, error)
}

// GuestRequest is one http_request of a guest, checked by the engine: an
// RFC 9110 token method, an absolute http or https URL with a host, headers
// as a guest may write them (write(3, …)). Its bytes are a copy the doer may
// keep.
type GuestRequest struct {
	Method, URL      string
	Header           []Header
	Body             []byte
	MaxResponseBytes int
}

// GuestResponse is what a doer got back. Status must be 100–599.
// ContentLength is -1 when unknown; a known one over the limit is refused
// before the body is read. Body may be nil.
type GuestResponse struct {
	Status        int
	Header        []Header
	ContentLength int64
	Body          io.ReadCloser
}

// hostHTTPRequest is sluice.http_request(req_ptr, req_len, out_ptr,
// out_cap): the response (status, headers block, body) is copied to out if
// it fits, its size returned, and kept for read(6, …); on failure read(6, …)
// gives the reason.
func hostHTTPRequest(ctx context.Context, _ api.Module, stack []uint64) {
	inst := callOf(ctx)
	if inst == nil {
		setI32(stack, abi.ErrNotAllowed)
		return
	}
	ex, cfg := inst.ex, &inst.m.e.cfg
	code, msg := httpOverCap(api.DecodeU32(stack[1]), ex.httpCalls, cfg)
	if code == abi.OK {
		src := inst.view(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		dst := inst.view(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
		ex.httpCalls++
		code, msg = ex.sendHTTP(inst, bytes.Clone(src), cfg)
		inst.expireIfLate()
		if code == abi.OK {
			returnSized(stack, dst, ex.result)
			return
		}
	}
	ex.result = append(ex.result[:0], msg...)
	setI32(stack, code)
}

// httpOverCap returns the code and reason refusing an http_request of
// reqLen bytes after done calls in this call, or abi.OK.
func httpOverCap(reqLen uint32, done int, cfg *Config) (int32, string) {
	switch {
	case cfg.HTTPDoer == nil:
		return abi.ErrNotAllowed, "http_request is not available here"
	case done >= cfg.MaxHTTPRequests:
		return abi.ErrTooLarge, fmt.Sprintf("http_request refused: over the limit of %d requests per call", cfg.MaxHTTPRequests)
	case uint64(reqLen) > maxHTTPRequestBytes(cfg.MaxBodyBytes):
		return abi.ErrTooLarge, "http_request refused: request over the size limit"
	}
	return abi.OK, ""
}

// maxHTTPRequestBytes bounds an encoded request: method, URL, headers block
// and body at their caps.
func maxHTTPRequestBytes(maxBody int) uint64 {
	return 8 + abi.MaxMethodBytes + abi.MaxURLBytes + abi.MaxHeaderBlockBytes + uint64(maxBody)
}

// sendHTTP decodes the request b (a copy the doer may keep), has the doer
// send it, and puts the encoded response in ex.result.
func (ex *Exchange) sendHTTP(inst *instance, b []byte, cfg *Config) (int32, string) {
	req, err := decodeGuestRequest(b, cfg.MaxBodyBytes)
	if errors.Is(err, errOverCap) {
		return abi.ErrTooLarge, "http_request refused: " + err.Error()
	}
	if err != nil {
		return abi.ErrInvalid, "http_request refused: " + err.Error()
	}
	req.MaxResponseBytes = cfg.MaxHTTPResponseBytes
	ctx, cancel := context.WithDeadline(inst.parent, time.Unix(0, inst.deadline.Load()))
	defer cancel()
	resp, err := cfg.HTTPDoer.Do(ctx, req)
	if err != nil {
		return abi.ErrFailed, "http_request failed: " + err.Error()
	}
	if resp == nil {
		return abi.ErrFailed, "http_request failed: no response"
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	switch {
	case !abi.ValidStatus(int64(resp.Status)):
		return abi.ErrFailed, "http_request failed: invalid response status"
	case len(resp.Header) > abi.MaxHeaders || headersSize(resp.Header) > abi.MaxHeaderBlockBytes:
		return abi.ErrTooLarge, "http_request failed: response headers over the size limit"
	case resp.ContentLength > int64(req.MaxResponseBytes):
		return abi.ErrTooLarge, responseTooLarge(req.MaxResponseBytes)
	}
	head := 4 + headersSize(resp.Header)
	ex.result = slices.Grow(ex.result[:0], head+int(max(resp.ContentLength, 0)))[:head]
	encodeHeaders(abi.PutU32(ex.result, uint32(resp.Status)), resp.Header)
	ex.result, err = readLimited(ex.result, resp.Body, req.MaxResponseBytes)
	switch {
	case errors.Is(err, errBodyTooLarge):
		return abi.ErrTooLarge, responseTooLarge(req.MaxResponseBytes)
	case err != nil:
		return abi.ErrFailed, "http_request failed reading the response: " + err.Error()
	}
	return abi.OK, ""
}

func responseTooLarge(limit int) string {
	return fmt.Sprintf("http_request failed: response body over the limit of %d bytes", limit)
}

// errOverCap marks a request part over its cap (ErrTooLarge, not ErrInvalid).
var errOverCap = errors.New("over the size limit")

// decodeGuestRequest decodes and checks an encoded request (bytes method,
// bytes url, headers block, body). The result's fields are views into b.
func decodeGuestRequest(b []byte, maxBody int) (*GuestRequest, error) {
	r := abi.NewReader(b)
	method, ok1 := r.Bytes()
	rawURL, ok2 := r.Bytes()
	if !ok1 || !ok2 {
		return nil, errors.New("malformed encoding")
	}
	switch {
	case len(method) > abi.MaxMethodBytes:
		return nil, fmt.Errorf("method %w", errOverCap)
	case len(rawURL) > abi.MaxURLBytes:
		return nil, fmt.Errorf("url %w", errOverCap)
	}
	if !abi.ValidHeaderName(method) {
		return nil, errors.New("invalid method")
	}
	if !validURL(string(rawURL)) {
		return nil, errors.New("invalid url: want an absolute http or https url")
	}
	count, rest, code := checkHeaders(r.Rest())
	switch {
	case code == abi.ErrTooLarge:
		return nil, fmt.Errorf("headers %w", errOverCap)
	case code != abi.OK:
		return nil, errors.New("invalid headers")
	}
	hdrBlock := r.Rest()[:len(r.Rest())-len(rest)]
	switch {
	case len(hdrBlock) > abi.MaxHeaderBlockBytes:
		return nil, fmt.Errorf("headers %w", errOverCap)
	case len(rest) > maxBody:
		return nil, fmt.Errorf("body %w", errOverCap)
	}
	req := &GuestRequest{Method: string(method), URL: string(rawURL)}
	req.Header, req.Body = decodeHeaders(hdrBlock, nil, count)
	req.Body = rest
	return req, nil
}

// validURL reports whether s is an absolute http or https URL with a host
// and nothing a request line cannot carry. Where it may go is the doer's
// decision (the server's destination policy).
func validURL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

var errBodyTooLarge = errors.New("transforms: response body over the limit")

// readLimited appends r's bytes to dst, reading at most limit + 1 of them:
// one more than the limit shows the body is too large without reading it.
func readLimited(dst []byte, r io.Reader, limit int) ([]byte, error) {
	if r == nil {
		return dst, nil
	}
	start := len(dst)
	lr := io.LimitReader(r, int64(limit)+1)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := lr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst[:start], errBodyTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:start], err
		}
	}
}

// expireIfLate ends the call now if its deadline passed while the host
// worked, rather than leaving the guest to run until the timer fires, and
// traps.
func (i *instance) expireIfLate() {
	i.expireIfDue()
	i.checkTime()
}
