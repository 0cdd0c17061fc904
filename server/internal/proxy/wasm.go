package proxy

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/transforms"
)

var (
	errGuestPathEscapes   = edge.NewProblem(http.StatusInternalServerError, "the transform set a path that leaves the destination's base path")
	errGuestInformational = edge.NewProblem(http.StatusInternalServerError, "the transform answered with an informational (1xx) status")
)

// guestError is how a guest that ended the exchange answers: a standard error (wrapped in
// proxy_error, messages in errors.error) or a custom response (returned exactly).
type guestError struct {
	outcome transforms.Outcome
}

func (g *guestError) Error() string { return "proxy: the transform ended the exchange" }

// runWasmTransform runs a module on the message and applies what it replaced.
func (s *Pipeline) runWasmTransform(x *exchange, t *Transform, m *message, req *fasthttp.Request, resp *fasthttp.Response) error {
	ex := transforms.AcquireExchange()
	defer transforms.ReleaseExchange(ex)
	x.guest = guestServices{s: s, x: x}
	ex.Body, ex.Services = m.body, &x.guest
	if x.px != nil {
		ex.Config = x.px.Configuration
	}
	var run func(context.Context, string, *transforms.Exchange) (transforms.Outcome, error)
	var given []transforms.Header // the request headers the guest was shown
	if req != nil {
		// The guest sees the path after /proxy (ABI.md); the destination's base path is ours.
		ex.Method, ex.Path, ex.Query = req.Header.Method(), x.restPath, req.URI().QueryString()
		for k, v := range req.Header.All() {
			ex.AddHeader(k, v)
		}
		given = ex.Headers
		run = s.wasm.OnRequest
	} else {
		ex.Status = resp.StatusCode()
		for k, v := range resp.Header.All() {
			ex.AddHeader(k, v)
		}
		run = s.wasm.OnResponse
	}
	start := time.Now()
	out, err := run(x.c.RC, t.ModuleID, ex)
	took := time.Since(start)
	switch {
	case err != nil:
		s.metrics.Transformed(took, obs.TransformFailed)
		s.log.Warn("transform failed", "module_id", t.ModuleID, "request_id", string(x.c.ReqID))
		return edge.NewProblem(http.StatusInternalServerError, "the transform failed (trap, time or memory limit)")
	case out.Ended && out.Kind == transforms.CustomHTTPResponse && out.Status < 200:
		// An informational status would leave the caller's connection in another protocol or
		// waiting for a final answer that never comes.
		s.metrics.Transformed(took, obs.TransformFailed)
		return errGuestInformational
	case out.Ended:
		s.metrics.Transformed(took, obs.TransformEnded)
		g := &guestError{outcome: out}
		g.outcome.Messages = append([]string(nil), out.Messages...)
		g.outcome.Body = bytes.Clone(out.Body)
		g.outcome.Headers = nil
		for _, h := range out.Headers {
			g.outcome.Headers = append(g.outcome.Headers, transforms.Header{Name: bytes.Clone(h.Name), Value: bytes.Clone(h.Value)})
		}
		return g
	}
	s.metrics.Transformed(took, obs.TransformOK)
	changed := ex.Changed()
	if changed.Has(transforms.PartBody) {
		m.body = bytes.Clone(ex.Body)
	}
	if req != nil {
		if changed.Has(transforms.PartPath) {
			// The guest's path stays under the destination's base path, as the caller's must.
			if len(ex.Path) > 0 && ex.Path[0] != '/' || checkRestPath(ex.Path) != nil {
				return errGuestPathEscapes
			}
			req.URI().SetPath(x.basePath + string(ex.Path))
		}
		if changed.Has(transforms.PartQuery) {
			req.URI().SetQueryStringBytes(ex.Query)
		}
		if changed.Has(transforms.PartHeaders) {
			replaceRequestHeaders(x, &req.Header, given, ex.Headers)
		}
		return nil
	}
	if changed.Has(transforms.PartStatus) {
		if ex.Status < 200 {
			return errGuestInformational
		}
		resp.SetStatusCode(ex.Status)
	}
	if changed.Has(transforms.PartHeaders) {
		replaceResponseHeaders(&resp.Header, ex.Headers)
	}
	return nil
}

// replaceRequestHeaders makes hs, minus what skipForward drops, the request's headers. given are
// the headers the guest was shown (h's, in h.All's order): when hs only adds headers after them
// (the usual transform), and setting h anew would store every given one as it is now, the added
// ones are added to h as it is — what resetting h and adding all of hs gives (the header, its
// special fields and the request written), without copying and re-canonicalizing every header.
func replaceRequestHeaders(x *exchange, h *fasthttp.RequestHeader, given, hs []transforms.Header) {
	if keepsGiven(h, given, hs) {
		addForwarded(h, hs[len(given):])
		return
	}
	resetRequestHeaders(x, h, hs)
}

// keepsGiven reports whether hs starts with given, pair for pair, and resetting h and adding
// given again would leave h as it is: h speaks HTTP/1.1 (a reset forgets HTTP/1.0) and has no
// content length (a reset sets 0; forward drops the caller's Content-Length), no given
// name is one skipForward drops (Host, Connection, Content-Length, Trailer and
// Transfer-Encoding among them) or Cookie (parsed into fasthttp's list of cookies and joined
// again). The rest are kept as they are by fasthttp: its special Content-Type and User-Agent
// are set from the value, and other names, parsed or added in canonical form, are stored again
// in the same order.
func keepsGiven(h *fasthttp.RequestHeader, given, hs []transforms.Header) bool {
	if len(hs) < len(given) || !h.IsHTTP11() || h.ContentLength() != 0 {
		return false
	}
	for i, g := range given {
		k := &hs[i]
		if !bytes.Equal(k.Name, g.Name) || !bytes.Equal(k.Value, g.Value) || skipForward(g.Name) || equalFoldASCII(g.Name, nameCookie) {
			return false
		}
	}
	return true
}

// addForwarded adds the headers of hs that skipForward keeps.
func addForwarded(h *fasthttp.RequestHeader, hs []transforms.Header) {
	for _, kv := range hs {
		if !skipForward(kv.Name) {
			h.AddBytesKV(kv.Name, kv.Value)
		}
	}
}

// resetRequestHeaders makes hs, minus what skipForward drops, the request's headers: h is reset
// but for its method and URI, and every header added anew.
func resetRequestHeaders(x *exchange, h *fasthttp.RequestHeader, hs []transforms.Header) {
	// Method and URI survive the Reset in the exchange's scratch (no allocation once warm).
	x.keep = append(append(x.keep[:0], h.Method()...), h.RequestURI()...)
	method, uri := x.keep[:len(h.Method())], x.keep[len(h.Method()):]
	h.Reset()
	h.SetMethodBytes(method)
	h.SetRequestURIBytes(uri)
	addForwarded(h, hs)
}

func replaceResponseHeaders(h *fasthttp.ResponseHeader, hs []transforms.Header) {
	status := h.StatusCode()
	h.Reset()
	h.SetStatusCode(status)
	for _, kv := range hs {
		if bytes.EqualFold(kv.Name, []byte("Content-Length")) {
			continue
		}
		h.AddBytesKV(kv.Name, kv.Value)
	}
}

// writeGuestError answers as the guest asked.
func writeGuestError(rc *fasthttp.RequestCtx, g *guestError) {
	o := g.outcome
	if o.Kind == transforms.CustomHTTPResponse {
		rc.Response.Reset()
		rc.SetStatusCode(o.Status)
		for _, h := range o.Headers {
			rc.Response.Header.AddBytesKV(h.Name, h.Value)
		}
		rc.SetBody(o.Body)
		return
	}
	p := edge.NewProblem(o.Status, o.Kind.String())
	msgs := o.Messages
	if len(msgs) == 0 {
		msgs = []string{o.Kind.String()}
	}
	p.Errors = map[string][]string{"error": msgs}
	edge.WriteProblem(rc, p, true)
}

// guestServices is what a guest can ask of the edge during one call.
type guestServices struct {
	s *Pipeline
	x *exchange
}

// Tokenize vaults data as a new token with the invoking application's permissions.
func (g *guestServices) Tokenize(ctx context.Context, tokenType string, data []byte) (string, error) {
	return g.s.vault.CreateForGuest(ctx, g.x.c.Who, tokenType, data)
}

// Log drops what the guest wrote: a transform sees detokenized data, and no log line may hold
// plaintext. Only the fact and the size are recorded.
func (g *guestServices) Log(msg []byte) {
	g.s.log.Debug("transform log line (content not recorded)", "bytes", len(msg))
}

// WriteGuestAnswer writes the answer of a guest that ended the exchange, when err is one, and
// reports whether it did.
func WriteGuestAnswer(rc *fasthttp.RequestCtx, err error) bool {
	if err == nil {
		return false // before g: its address escapes into errors.As, so declaring it allocates
	}
	var g *guestError
	if !errors.As(err, &g) {
		return false
	}
	writeGuestError(rc, g)
	return true
}
