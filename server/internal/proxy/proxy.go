package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/store"
)

// BufferLimit is the largest request body the proxy reads whole before forwarding. Bigger bodies
// stream: their expressions are resolved on the fly (see RATIONALE.md, "Streaming").
const BufferLimit = 4 << 20

// IsProxyPath reports whether path is /proxy or under /proxy/.
func IsProxyPath(path []byte) bool {
	return bytes.Equal(path, []byte("/proxy")) || bytes.HasPrefix(path, []byte("/proxy/"))
}

// exchange is the state of one proxied request. It lives for the request only.
type exchange struct {
	c     *edge.Call
	px    *Definition // nil for ephemeral requests
	env   detokEnv
	limit int // distinct tokens allowed

	wantsEncrypted bool   // an expression names the BT-ENCRYPTED payload
	proxyHeaders   bool   // header expressions may read {{ proxy }}: rendered once the body is final
	auditOp        string // the audit operation of each token use: "detokenize" unless set
	events         []store.Event
	scratch        []byte        // the rendered body, until it is copied into the destination request
	body           []byte        // the caller's body, read from its stream (readOwnBody)
	prefetch       []byte        // passBody's first read of the destination's body: prefetchSize bytes, kept
	ownBody        bool          // body holds the caller's body: its request has none until setRequestBody
	idBuf          []byte        // token ids collect found, back to back (see collect)
	idEnds         []int         // where each id in idBuf ends
	url            []byte        // the destination URL (destination, or the Footprint route)
	restPath       []byte        // the path after /proxy: what a transform sees and may replace
	basePath       string        // the destination base URL's path, without trailing slashes
	hostMemo       *fasthttp.URI // the proxy's destination parsed once (destinationHostMemo), or nil
	originLen      int           // url's scheme and authority, set without a parse (setDestinationURI); 0: parse url
	msg            message       // what transforms work on (transforms_decl.go)
	guest          guestServices // what a wasm guest may call (wasm.go)
	keep           []byte        // method and URI across replaceRequestHeaders
	btEncrypted    []byte        // the caller's BT-ENCRYPTED, kept when its headers are edited in place
	exprLimits     expr.Limits
	r              *expr.Renderer // see renderer()

	// Footprint's vault proxy (footprint.go) sets these.
	footprint     bool        // x-fp-* header rules; destination 5xx → 502
	method        string      // overrides the caller's method
	ingress       []Transform // tokenize rules run on a 2xx answer
	ingressFields []fieldRule // Footprint-form ingress rules run on a 2xx answer

	strictFields bool        // a missing field is an error (Footprint's rule; fpFields)
	defaultToken []byte      // x-fp-id: the token {{ id.first_name }} reads, or nil
	reason       string      // x-fp-proxy-access-reason, kept in each token use's audit event
	tls          *tls.Config // mutual TLS or pinning for this request (footprint_tls.go), or nil
}

// Invoke is POST|GET|PUT|PATCH|DELETE /proxy/**: find the destination, authenticate,
// detokenize, run request transforms, forward, and pass the answer back.
func (s *Pipeline) Invoke(c *edge.Call) error {
	rc := c.RC
	switch string(rc.Method()) {
	case "POST", "GET", "PUT", "PATCH", "DELETE":
	default:
		return edge.NewProblem(http.StatusMethodNotAllowed, "the proxy accepts POST, GET, PUT, PATCH and DELETE")
	}
	x := s.newExchange(c)
	defer x.done()
	base, err := s.resolveProxy(x)
	if err != nil {
		return err
	}
	dest, err := s.destination(x, base)
	if err != nil {
		return err
	}
	return s.forward(x, dest)
}

// exchanges are pooled: their slices (token ids, events, buffers) keep their capacity from
// request to request.
var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

// newExchange starts the state of one proxied request; the caller must done it.
func (s *Pipeline) newExchange(c *edge.Call) *exchange {
	x := exchangePool.Get().(*exchange)
	x.c = c
	// Buffered rendering expands expressions into memory: at most BufferLimit bytes of them.
	x.exprLimits = expr.Limits{MaxExprs: s.opt.ExpressionsPerBody, MaxExpansion: BufferLimit}
	return x
}

// reset empties x for the next request, keeping the capacity of its slices (cleared: no token
// id or event outlives its request). release must have run.
func (x *exchange) reset() {
	clear(x.env.ids)
	clear(x.env.objs)
	clear(x.events)
	clear(x.scratch[:cap(x.scratch)]) // plaintext, to its capacity: a failed render wrote there too
	clear(x.btEncrypted)
	clear(x.url) // the caller's path and query, which may name token ids
	clear(x.restPath)
	clear(x.keep) // a detokenized query
	// x.body is not wiped: it holds the caller's body as sent, no detokenized value, and
	// fasthttp keeps the same bytes in its pooled request buffers (rendered plaintext is in
	// scratch, wiped above). Nor is x.prefetch: it holds the destination's answer as it was
	// passed on to the caller.
	body := x.body[:0]
	if cap(body) > maxOwnBody {
		body = nil
	}
	*x = exchange{
		env:         detokEnv{ids: x.env.ids[:0], wantObj: x.env.wantObj[:0], objs: x.env.objs[:0]},
		events:      x.events[:0],
		scratch:     x.scratch[:0],
		body:        body,
		prefetch:    x.prefetch,
		btEncrypted: x.btEncrypted[:0],
		restPath:    x.restPath[:0],
		idBuf:       x.idBuf[:0],
		keep:        x.keep[:0],
		idEnds:      x.idEnds[:0],
		url:         x.url[:0],
	}
}

// renderer is the exchange's expression renderer, acquired on first use with the exchange's
// limits; release gives it back.
func (x *exchange) renderer() *expr.Renderer {
	if x.r == nil {
		x.r = expr.Acquire()
		x.r.SetLimits(x.exprLimits)
		x.fieldRules(x.r)
	}
	return x.r
}

// fieldRules gives r the exchange's rules for fields of tokens (see fpFields).
func (x *exchange) fieldRules(r *expr.Renderer) {
	r.SetStrictFields(x.strictFields)
	if x.defaultToken != nil {
		r.SetDefaultToken(x.defaultToken)
	}
}

// done wipes x and returns it to the pool. Nothing may hold x or its buffers after (response
// bodies that stream do not reference them).
func (x *exchange) done() {
	x.release()
	if x.ownBody {
		x.c.RC.Request.ResetBody() // its body may be a view of x.body (setRequestBody)
	}
	x.reset()
	exchangePool.Put(x)
}

// release wipes and returns what the exchange borrowed: the renderer and the resolved tokens.
func (x *exchange) release() {
	if x.r != nil {
		expr.Release(x.r)
		x.r = nil
	}
	x.env.release()
}

// resolveProxy finds the pre-configured proxy (BT-PROXY-KEY header or bt-proxy-key query
// parameter) or the ephemeral destination (BT-PROXY-URL), authenticates the caller, and returns
// the destination base URL.
func (s *Pipeline) resolveProxy(x *exchange) (string, error) {
	rc := x.c.RC
	key := rc.Request.Header.PeekCanonical(nameBTProxyKey)
	if len(key) == 0 {
		key = rc.QueryArgs().Peek("bt-proxy-key")
	}
	var base string
	if len(key) > 0 {
		x.px = s.proxies.byProxyKey(key)
		if x.px == nil {
			return "", edge.NewProblem(http.StatusNotFound, "no proxy has this key")
		}
		base, x.limit, x.c.ProxyID = x.px.DestinationURL, s.opt.ProxyTokens, x.px.ID
		x.env.config = x.px.Configuration
	} else {
		u := rc.Request.Header.PeekCanonical(nameBTProxyURL)
		if len(u) == 0 {
			return "", edge.Invalid("BT-PROXY-URL", "BT-PROXY-URL or BT-PROXY-KEY is required")
		}
		if !s.opt.Ephemeral {
			return "", edge.NewProblem(http.StatusForbidden, "ephemeral proxying (BT-PROXY-URL) is switched off; use a pre-configured proxy")
		}
		base, x.limit = string(u), s.opt.EphemeralTokens
	}
	who, err := s.auth.Authenticate(rc)
	if err != nil {
		return "", err
	}
	switch {
	case who != nil:
	case x.px != nil && !x.px.RequireAuth:
		if err := s.auth.AllowAnonymous(rc, x.px.ID); err != nil {
			return "", err
		}
		if who, err = s.auth.ApplicationPrincipal(rc, x.px.ApplicationID); err != nil {
			return "", err
		}
	default:
		return "", edge.ErrUnauthenticated
	}
	x.c.Who = who
	if err := s.auth.AllowApplication(rc, who); err != nil {
		return "", err
	}
	if !who.Can(edge.PermProxyInvoke) && !who.Can(edge.PermTokenUse) {
		return "", edge.Forbidden("proxy:invoke")
	}
	if app := x.px.ActsAs(); app != "" && app != who.AppID {
		// The proxy names its application: it detokenizes and tokenizes as that one.
		if x.c.Who, err = s.auth.ApplicationPrincipal(rc, app); err != nil {
			return "", err
		}
	}
	return base, nil
}

// destination joins base with the path after /proxy and the query (minus bt-proxy-key) into
// x.url, and checks it against the destination policy.
func (s *Pipeline) destination(x *exchange, base string) ([]byte, error) {
	// fasthttp gives the request URI rebuilt from the normalized path (dot segments resolved,
	// re-quoted) plus the raw query. (The URI's own RequestURI, not the request's: that one
	// would mark the parsed URI stale, and forward sets the destination's on it.)
	uri := x.c.RC.URI().RequestURI()
	path, query, _ := bytes.Cut(uri, []byte("?"))
	rest := bytes.TrimPrefix(path, []byte("/proxy"))
	if len(rest) > 0 && rest[0] != '/' {
		return nil, edge.NewProblem(http.StatusNotFound, "no such resource") // only /proxy and /proxy/… exist
	}
	if err := checkRestPath(rest); err != nil {
		return nil, err
	}
	// Copies, not views: the caller's request becomes the destination's and its URI is replaced.
	x.url = appendURL(x.url[:0], base, rest, query)
	x.restPath = append(x.restPath[:0], rest...)
	if x.px != nil {
		// The base was checked when the proxy was loaded or saved, under this process's policy;
		// the rest only adds path and query (it starts with "/"), so scheme and host stay the
		// checked ones. The dialer checks the address regardless.
		if x.px.destErr != nil {
			return nil, x.px.destErr
		}
		x.basePath = x.px.basePath
		x.hostMemo, x.originLen = x.px.hostMemo, x.px.originLen
		return x.url, nil
	}
	u, err := s.policy.CheckURL(string(x.url))
	if err != nil {
		return nil, edge.Invalid("BT-PROXY-URL", "the destination is not allowed: "+egress.Detail(err))
	}
	x.basePath = strings.TrimSuffix(u.EscapedPath(), string(x.restPath))
	return x.url, nil
}

// destinationHostMemo parses the scheme and host of a proxy's destination URL once. fasthttp
// remembers the last host a URI parsed, raw and parsed, and reuses the parsed one when the next
// URI it parses names the same raw host; a copy of this small URI carries that memory into a
// destination request, whose URI (the same base, plus path and query) is then parsed as before
// except for the host. nil when fasthttp cannot parse it (the request then parses it all, and
// fails as it would have).
func destinationHostMemo(base string) *fasthttp.URI {
	if i := strings.Index(base, "//"); i >= 0 {
		if j := strings.IndexAny(base[i+2:], "/?#"); j >= 0 {
			base = base[:i+2+j] // the path, query and fragment would only be copied per request
		}
	}
	u := new(fasthttp.URI)
	if u.Parse(nil, []byte(base)) != nil {
		return nil
	}
	return u
}

// destinationOrigin is the length of base's scheme and authority when every destination URL
// built from base (appendURL) can have its URI set part by part (setDestinationURI) instead of
// parsed, to the same result; else 0. The rest of such a URL is path and query only: the
// caller's path is re-quoted by fasthttp ('#', '?' and control bytes escaped) and its query
// has neither a fragment nor a control byte (fasthttp refuses the request line), so base must
// have neither either.
func destinationOrigin(base string) int {
	if strings.ContainsFunc(base, func(r rune) bool { return r == '#' || r < ' ' || r == 0x7f }) {
		return 0
	}
	i := strings.Index(base, "//")
	if i < 0 {
		return 0
	}
	j := strings.IndexAny(base[i+2:], "/?")
	if j < 0 {
		return len(base)
	}
	return i + 2 + j
}

// setDestinationURI sets u to the destination URL whose scheme and authority memo holds and
// whose path and query are pathQuery — what fasthttp's parse of the whole URL gives
// (TestSetDestinationURIAsParsed) without the parse, and without overwriting the host fasthttp
// remembers in u (the caller's, when the caller's request becomes the destination's: the next
// request on the connection names it again). Paths are sent as they are.
func setDestinationURI(u, memo *fasthttp.URI, pathQuery []byte) {
	path, query, _ := bytes.Cut(pathQuery, []byte("?"))
	u.Reset()
	u.SetSchemeBytes(memo.Scheme())
	u.SetHostBytes(memo.Host())
	if len(memo.Username()) > 0 || len(memo.Password()) > 0 {
		u.SetUsernameBytes(memo.Username())
		u.SetPasswordBytes(memo.Password())
	}
	u.SetPathBytes(path)
	u.SetQueryStringBytes(query)
	u.DisablePathNormalizing = true
}

// appendURL appends base with trailing slashes removed + rest + the query minus its
// bt-proxy-key pairs to dst. A query already in base is kept, and the request's is appended to it.
func appendURL(dst []byte, base string, rest, query []byte) []byte {
	base, baseQuery, _ := strings.Cut(base, "?")
	dst = append(dst, strings.TrimRight(base, "/")...)
	dst = append(dst, rest...)
	q := len(dst)
	dst = append(dst, '?')
	dst = append(dst, baseQuery...)
	dst = appendQueryWithout(dst, q+1, query, "bt-proxy-key")
	if len(dst) == q+1 {
		dst = dst[:q] // no query at all
	}
	return dst
}

// appendQueryWithout appends the name=value pairs of a raw query to the query that starts at
// dst[start:], leaving out every pair whose name is name (any case) and, when there is one, empty
// pairs.
func appendQueryWithout(dst []byte, start int, query []byte, name string) []byte {
	if !hasQueryParam(query, name) {
		if len(query) > 0 && len(dst) > start {
			dst = append(dst, '&')
		}
		return append(dst, query...) // the usual case: as the caller sent it
	}
	for kv := range bytes.SplitSeq(query, []byte("&")) {
		if k, _, _ := bytes.Cut(kv, []byte("=")); len(kv) == 0 || bytes.EqualFold(k, []byte(name)) {
			continue
		}
		if len(dst) > start {
			dst = append(dst, '&')
		}
		dst = append(dst, kv...)
	}
	return dst
}

// hasQueryParam reports whether a raw query has a pair named name (any case).
func hasQueryParam(query []byte, name string) bool {
	if len(query) == 0 {
		return false // the usual case, without setting up the split
	}
	for kv := range bytes.SplitSeq(query, []byte("&")) {
		if k, _, _ := bytes.Cut(kv, []byte("=")); bytes.EqualFold(k, []byte(name)) {
			return true
		}
	}
	return false
}

// forward builds the destination request, sends it and writes the answer.
func (s *Pipeline) forward(x *exchange, dest []byte) error {
	rc := x.c.RC
	limit := s.opt.ProxyBodyBytes
	cl := rc.Request.Header.ContentLength()
	if int64(cl) > limit {
		return edge.ErrTooLarge
	}
	body, whole, err := x.readRequestBody(limit)
	if err != nil {
		return err
	}
	// A whole body lets the caller's request become the destination's, edited in place (no copy
	// of headers or body). A streamed body is read from the caller's request while the
	// destination's is sent, and Footprint forwards only named headers: those build a new one.
	var req *fasthttp.Request
	if whole && !x.footprint {
		req = &rc.Request
		if v := req.Header.PeekCanonical(nameBTEncrypted); len(v) > 0 {
			x.btEncrypted = append(x.btEncrypted[:0], v...) // kept: every BT-* header goes below
		}
		// The caller's own connection and protocol stay as the caller asked: restored when the
		// destination has answered (fasthttp decides keep-alive from them afterwards).
		// (Setting HTTP/1.1 when the caller spoke it is ~150 instructions, twice: skipped.)
		callerClose, http11 := req.Header.ConnectionClose(), req.Header.IsHTTP11()
		callerProto := ""
		if !http11 {
			callerProto = string(req.Header.Protocol())
		}
		defer func() {
			if callerClose {
				req.Header.SetConnectionClose()
			} else {
				req.Header.ResetConnectionClose()
			}
			if !http11 {
				req.Header.SetProtocol(callerProto)
			}
		}()
		inPlace, err := stripRequestHeaders(&req.Header)
		if err != nil {
			return err
		}
		if inPlace && !http11 {
			req.Header.SetProtocol("HTTP/1.1") // whatever the caller spoke
		} else if !inPlace {
			req = nil // repeated header names: copy them (in place could reorder their values)
		}
	}
	if req == nil {
		req = fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		req.Header.SetMethodBytes(rc.Method())
		if x.footprint {
			copyFootprintHeaders(&req.Header, &rc.Request.Header)
		} else {
			copyRequestHeaders(&req.Header, &rc.Request.Header)
		}
	}
	switch {
	case x.originLen > 0:
		if req != &rc.Request {
			req.SetURI(x.hostMemo) // a fresh request's URI, marked parsed: URI() does not parse it
		}
		setDestinationURI(req.URI(), x.hostMemo, dest[x.originLen:])
	case x.hostMemo != nil:
		req.SetURI(x.hostMemo)
		fallthrough
	default:
		req.SetRequestURIBytes(dest)
		req.URI().DisablePathNormalizing = true
	}
	if x.method != "" {
		req.Header.SetMethod(x.method)
	}
	detok := x.px == nil || !x.px.DisableDetokenization
	if detok {
		if err := checkBodyCharset(rc.Request.Header.ContentType()); err != nil {
			return err
		}
	}
	var streamed *bodyStream
	if whole {
		err = s.prepareWholeBody(x, req, body, detok)
	} else {
		streamed, err = s.prepareStreamedBody(x, req, cl, body, detok)
	}
	if err != nil {
		return err
	}
	timeout := s.opt.DestinationTimeout
	if x.px != nil && x.px.Timeout > 0 {
		timeout = time.Duration(x.px.Timeout * float64(time.Second))
	}
	req.SetTimeout(timeout)
	// The destination answers into a response of its own; respond moves it into the caller's.
	client, err := s.clientFor(x, req)
	if err != nil {
		return err
	}
	dresp := fasthttp.AcquireResponse()
	start := time.Now()
	err = client.Do(req, dresp)
	x.c.DestDuration = time.Since(start)
	streamed.done()
	if err != nil {
		fasthttp.ReleaseResponse(dresp)
		if streamed != nil && streamed.err != nil {
			return streamed.err // the body stream failed: its error explains why
		}
		return x.destinationError(err)
	}
	return s.respond(x, dresp)
}

// readRequestBody reads the caller's body whole when it is at most BufferLimit bytes, however it
// is framed (Content-Length or chunked), and when a request transform needs it (over BufferLimit:
// 413). A bigger body streams: whole is false, and body is what was read of it to find that out
// (nothing when Content-Length said so); it streams first.
func (x *exchange) readRequestBody(limit int64) (body []byte, whole bool, err error) {
	rc := x.c.RC
	cl := rc.Request.Header.ContentLength()
	stream := rc.RequestBodyStream()
	switch {
	case stream != nil && cl > 0 && cl <= maxOwnBody && int64(cl) <= limit:
		body, err = x.readOwnBody(stream, cl)
		return body, err == nil, err
	case x.px != nil && len(x.px.RequestTransforms) > 0, cl >= 0 && cl <= BufferLimit,
		stream == nil: // no stream: the body is in memory already
		body, err = edge.ReadBody(x.c.RC, min(limit, BufferLimit))
		return body, err == nil, err
	case cl >= 0:
		return nil, false, nil // known to be bigger
	}
	// Chunked: one byte past BufferLimit tells whether the body fits.
	body, err = io.ReadAll(io.LimitReader(stream, min(limit, BufferLimit)+1))
	switch {
	case err != nil:
		return nil, false, edge.NewProblem(http.StatusBadRequest, "could not read the request body")
	case int64(len(body)) > limit:
		return nil, false, edge.ErrTooLarge
	}
	return body, len(body) <= BufferLimit, nil
}

// maxOwnBody is the largest body readOwnBody reads; a pooled exchange keeps a buffer this big.
const maxOwnBody = 64 << 10

// readOwnBody reads the caller's body of cl bytes from its stream into x.body. fasthttp's
// Request.Body would copy the stream into the request's own buffer through a generic copy loop
// (type assertions that fail, a pooled buffer, a second Read for the end): ~1 k instructions
// for a 1 KB body it has already read ahead. The request then has no body of its own until
// setRequestBody gives it one. A body cut short is a 400, like a chunked one's.
//
// x.body grows with what arrives, doubling from what fasthttp read ahead, not to cl at once: a
// caller announcing 64 KiB and stalling after 8 KiB holds no more than twice what it sent.
func (x *exchange) readOwnBody(stream io.Reader, cl int) ([]byte, error) {
	b := x.body[:0]
	x.ownBody = true
	for len(b) < cl {
		if len(b) == cap(b) {
			size := min(cl, max(2*len(b), ownBodyReadAhead)) // doubles, never past the announced length
			grown := make([]byte, len(b), max(size, 1<<10))  // a pooled exchange keeps at least 1 KiB
			b = grown[:copy(grown, b)]
		}
		n, err := stream.Read(b[len(b):min(cl, cap(b))])
		b = b[:len(b)+n]
		if err != nil && len(b) < cl {
			x.body = b
			return nil, edge.NewProblem(http.StatusBadRequest, "could not read the request body")
		}
	}
	x.body = b
	return b, nil
}

// ownBodyReadAhead is what fasthttp has read of a body before the handler runs: readOwnBody's
// first allocation.
const ownBodyReadAhead = 8 << 10

// setRequestBody makes out req's body. The caller's body read by readOwnBody becomes the
// request's as a view (the exchange keeps it until done, after the send); anything else is
// copied, unless it already is req's body.
func setRequestBody(x *exchange, req *fasthttp.Request, out []byte) {
	switch {
	case x.ownBody && sameBytes(out, x.body) && req == &x.c.RC.Request:
		req.SetBodyRaw(out)
	case x.ownBody || !sameBytes(out, req.Body()):
		req.SetBody(out)
	}
}

// destinationError maps a failed exchange with the destination to a status, and records its
// class for the log line. A blocked address is blamed on what named the destination.
func (x *exchange) destinationError(err error) error {
	c := x.c
	switch {
	case errors.Is(err, egress.ErrBlockedDestination):
		field := "BT-PROXY-URL"
		switch {
		case x.px != nil:
			field = "destination_url"
		case x.footprint:
			field = fpTargetURL
		}
		return edge.Invalid(field, "the destination resolves to a blocked address: "+egress.Detail(err))
	case isTimeout(err):
		c.ErrClass = errDestinationTimeout
		return edge.NewProblem(http.StatusRequestTimeout, "the destination did not answer in time")
	}
	c.ErrClass = errDestinationUnreachable
	return edge.NewProblem(http.StatusBadGateway, "the destination could not be reached")
}

// respond moves the destination's answer (dresp, released here or handed on) into the caller's
// response: status, headers and body as they came, minus hop-by-hop headers, plus
// BT-PROXY-DESTINATION-STATUS. Response transforms run on 2xx only; otherwise the body passes
// through (passBody). On an error nothing of the destination's answer goes out. Footprint's
// routes (SPEC §9) add x-footprint-proxy-upstream-status-code to every answer, an error's too,
// and answer a destination 5xx with 502 and the destination's headers and body.
func (s *Pipeline) respond(x *exchange, dresp *fasthttp.Response) error {
	resp := &x.c.RC.Response
	status := dresp.StatusCode()
	if x.footprint {
		defer setUpstreamStatus(resp, status) // after the answer is built (or reset for an error)
	}
	if status < 200 {
		// An informational answer (101 Switching Protocols above all) is not the answer to a
		// proxied request, and the edge does not relay protocol switches.
		fasthttp.ReleaseResponse(dresp)
		x.c.ErrClass = errDestinationStatus
		return edge.NewProblem(http.StatusBadGateway, "the destination answered "+strconv.Itoa(status))
	}
	var err error
	if (x.px != nil && len(x.px.ResponseTransforms) > 0 || len(x.ingress) > 0 || len(x.ingressFields) > 0) && status >= 200 && status < 300 {
		err = s.transformResponse(x, dresp, resp)
	} else if dresp.IsBodyStream() {
		err = s.passBody(x, dresp, resp)
	} else {
		dresp.CopyTo(resp)
		fasthttp.ReleaseResponse(dresp)
	}
	if err == nil {
		err = stripResponseHeaders(&resp.Header)
	}
	if err != nil {
		resp.Reset() // nothing of the destination's answer goes out with an error
		return err
	}
	var b [3]byte
	resp.Header.SetCanonical(nameDestinationStatus, appendStatus(b[:0], status))
	if x.footprint && status >= 500 {
		resp.SetStatusCode(http.StatusBadGateway)
	}
	return nil
}

// appendStatus writes a status code in decimal: three digits directly for 100 to 999 (every
// status an answer passed on can have), strconv's general path otherwise.
func appendStatus(b []byte, status int) []byte {
	if status < 100 || status > 999 {
		return strconv.AppendInt(b, int64(status), 10)
	}
	return append(b, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10))
}

// setUpstreamStatus sets Footprint's x-footprint-proxy-upstream-status-code on resp.
func setUpstreamStatus(resp *fasthttp.Response, status int) {
	var b [3]byte
	resp.Header.SetBytesV(headerUpstreamStatus, appendStatus(b[:0], status))
}

// transformResponse reads the destination's whole body (its pauses bounded by the body idle
// timeout) and runs the response transforms over it into resp. dresp is released.
func (s *Pipeline) transformResponse(x *exchange, dresp, resp *fasthttp.Response) error {
	defer fasthttp.ReleaseResponse(dresp)
	if c := destConn(dresp); c != nil && dresp.IsBodyStream() {
		c.BodyIdle(s.opt.DestinationBodyIdle)
	}
	body, err := readResponseBody(dresp, s.opt.ProxyBodyBytes)
	if err != nil {
		if p := (*edge.Problem)(nil); errors.As(err, &p) && p.Status == http.StatusRequestEntityTooLarge {
			return err
		}
		return bodyFailed(x.c, err)
	}
	dresp.Header.CopyTo(&resp.Header)
	out, err := s.runResponseTransforms(x, resp, body)
	if err != nil {
		return err
	}
	resp.SetBody(out)
	return nil
}

// readResponseBody returns the destination's whole body, refusing more than limit bytes with a
// 413. (resp.Body() would read a stream without a limit.) A read error is returned as is.
func readResponseBody(resp *fasthttp.Response, limit int64) ([]byte, error) {
	if !resp.IsBodyStream() {
		if int64(len(resp.Body())) > limit {
			return nil, edge.ErrTooLarge
		}
		return resp.Body(), nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.BodyStream(), limit+1))
	resp.CloseBodyStream()
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, edge.ErrTooLarge
	}
	return b, nil
}

// prepareWholeBody detokenizes the destination request (query, headers, body — every token
// fetched in one vault read, checked and audited before anything is sent), runs the request
// transforms and sets the body.
func (s *Pipeline) prepareWholeBody(x *exchange, req *fasthttp.Request, body []byte, detok bool) error {
	ct := x.c.RC.Request.Header.ContentType()
	out, err := s.detokenizeRequest(x, req, body, bodyContext(ct), detok)
	if err != nil {
		return err
	}
	if x.px != nil && len(x.px.RequestTransforms) > 0 {
		if out, err = s.runRequestTransforms(x, req, out); err != nil {
			return err
		}
	}
	if x.proxyHeaders {
		if err := renderProxyHeaders(x, req, out); err != nil {
			return err
		}
	}
	setRequestBody(x, req, out)
	return nil
}

// sameBytes reports whether a and b are the same memory (not merely equal contents).
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// prepareStreamedBody sets a body of cl bytes (-1: unknown) that streams from the caller to the
// destination, detokenized on the fly: tokens are fetched, checked and audited as they appear.
// head is what was read of the body already: it goes first. streamed is non-nil; its err
// explains a failure that surfaces as a failed send.
func (s *Pipeline) prepareStreamedBody(x *exchange, req *fasthttp.Request, cl int, head []byte, detok bool) (*bodyStream, error) {
	rc := x.c.RC
	limit := s.opt.ProxyBodyBytes
	ct := rc.Request.Header.ContentType()
	ec := bodyContext(ct)
	// Streaming: headers and query are detokenized first (they are small and whole).
	if _, err := s.detokenizeRequest(x, req, nil, ec, detok); err != nil {
		return nil, err
	}
	if x.proxyHeaders {
		return nil, edge.NewProblem(http.StatusRequestEntityTooLarge, "headers that read {{ proxy }} need a body the proxy holds whole (at most 4 MiB)")
	}
	src := rc.RequestBodyStream()
	if len(head) > 0 {
		src = io.MultiReader(bytes.NewReader(head), src)
	}
	bs := &bodyStream{src: src, left: limit}
	var r io.Reader = bs
	size := cl
	if detok {
		lazy := &lazyEnv{s: s, x: x}
		bs.renderer = expr.Acquire()
		x.fieldRules(bs.renderer)
		// The same expression limit as a whole body: a stream is no licence for more.
		bs.renderer.SetLimits(expr.Limits{MaxExprs: x.exprLimits.MaxExprs, MaxExpansion: limit})
		r = bs.renderer.Reader(bs, ec, lazy)
		bs.lazy = lazy
		size = -1
	}
	req.SetBodyStream(&errReader{r: r, bs: bs}, size)
	return bs, nil
}

// bodyStream reads the caller's body, refusing more than left bytes.
type bodyStream struct {
	src      io.Reader
	left     int64
	err      error
	lazy     *lazyEnv
	renderer *expr.Renderer // released (its plaintext buffers wiped) when the send is over
}

// done releases the streaming renderer once the destination request has been sent.
func (b *bodyStream) done() {
	if b != nil && b.renderer != nil {
		expr.Release(b.renderer)
		b.renderer = nil
	}
}

func (b *bodyStream) Read(p []byte) (int, error) {
	if b.src == nil {
		return 0, io.EOF
	}
	n, err := b.src.Read(p)
	if err != nil && err != io.EOF {
		b.err = errUnreadableBody // the caller's framing or connection broke: its error, not ours
		return n, b.err
	}
	b.left -= int64(n)
	if b.left < 0 {
		b.err = edge.ErrTooLarge
		return 0, b.err
	}
	return n, err
}

// errReader records the first error of the streamed body so that forward can report it.
type errReader struct {
	r  io.Reader
	bs *bodyStream
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.bs.err == nil {
		if e.bs.lazy != nil && e.bs.lazy.err != nil {
			e.bs.err = e.bs.lazy.err
		} else {
			e.bs.err = exprProblem(err)
		}
	}
	return n, err
}

// bodyContext picks how expressions in a body are found and escaped, from its media type
// (case-insensitive, parameters ignored): form for application/x-www-form-urlencoded, JSON for
// every JSON type (a subtype naming json: */json, *+json, x-ndjson, jsonl, json-seq), and Body
// for anything else, labelled or not. In a Body the bytes around each expression decide: a value
// inside a JSON string is JSON-string-escaped, so no label — nor its absence — lets a value out
// of its string, whole or streamed.
func bodyContext(ct []byte) expr.Context {
	mt := edge.MediaType(ct)
	if mt == "application/json" { // the usual one, without the subtype's search
		return expr.JSON
	}
	_, sub, _ := strings.Cut(mt, "/")
	switch {
	case mt == "application/x-www-form-urlencoded":
		return expr.Form
	case strings.Contains(sub, "json"):
		return expr.JSON
	}
	return expr.Body
}
