package server

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/store"
)

// call is one API request on its way through a handler. It lives for the request only.
type call struct {
	rc    *fasthttp.RequestCtx
	who   *edge.Principal // nil when the request carried no valid key
	id    string          // the {id} path segment, if the route has one
	route string          // the route pattern, for logs and metrics (never the raw path)
	wrap  bool            // errors go out as {"proxy_error": …}

	destDuration      time.Duration // time spent waiting on the destination
	transformDuration time.Duration // time spent in request and response transforms
	tokens            int           // tokens detokenized
	proxyID           string        // the pre-configured proxy used, if any
	errClass          string        // why a proxied exchange failed (destbody.go), for the log
	stream            *destBody     // a destination body still streaming when the handler returns

	// Reused from request to request (calls are pooled): the request id and the state of a
	// proxied request, whose slices keep their capacity.
	reqID []byte    // in idBuf
	idBuf [128]byte // a copy: the caller's header storage is edited (and reused) in place
	x     exchange
}

var callPool = sync.Pool{New: func() any { return new(call) }}

// releaseCall returns c to the pool. Nothing may hold c, its exchange or their buffers after
// the handler returns (response bodies that stream do not reference them).
func releaseCall(c *call) {
	c.x.release() // idempotent: wipes the plaintext a proxied request held
	x := c.x
	x.reset()
	*c = call{x: x}
	callPool.Put(c)
}

type handlerFunc func(s *Server, c *call) error

type route struct {
	pattern string // "/tokens/{id}"
	method  string
	h       handlerFunc
}

// routes lists every API endpoint. Paths are matched segment by segment; "{id}" matches one
// non-empty segment.
var routes = []route{
	{"/tokens", "POST", (*Server).createToken},
	{"/tokens/{id}", "GET", (*Server).getToken},
	{"/tokens/{id}", "PATCH", (*Server).patchToken},
	{"/tokens/{id}", "DELETE", (*Server).deleteToken},
	{"/applications", "POST", (*Server).createApplication},
	{"/applications", "GET", (*Server).listApplications},
	{"/applications/{id}", "GET", (*Server).getApplication},
	{"/applications/{id}", "PUT", (*Server).updateApplication},
	{"/applications/{id}", "DELETE", (*Server).deleteApplication},
	{"/logs", "GET", (*Server).listLogs},
	{"/proxies", "POST", (*Server).createProxy},
	{"/proxies", "GET", (*Server).listProxies},
	{"/proxies/{id}", "GET", (*Server).getProxy},
	{"/proxies/{id}", "PUT", (*Server).updateProxy},
	{"/proxies/{id}", "PATCH", (*Server).patchProxy},
	{"/proxies/{id}", "DELETE", (*Server).deleteProxy},
	{"/keys", "POST", (*Server).createKey},
	{"/keys", "GET", (*Server).listKeys},
	{"/keys/{id}", "GET", (*Server).getKey},
	{"/keys/{id}", "DELETE", (*Server).deleteKey},
	{"/transforms", "POST", (*Server).createTransform},
	{"/transforms", "GET", (*Server).listTransforms},
	{"/transforms/{id}", "GET", (*Server).getTransform},
	{"/transforms/{id}", "DELETE", (*Server).deleteTransform},
}

// match finds the route for path and method. It returns the route (nil if none) and whether the
// path exists under another method.
func match(method string, path []byte) (r *route, id string, pathKnown bool) {
	p := string(bytes.TrimSuffix(path, []byte("/")))
	for i := range routes {
		rt := &routes[i]
		arg, ok := matchPattern(rt.pattern, p)
		if !ok {
			continue
		}
		pathKnown = true
		if rt.method == method {
			return rt, arg, true
		}
	}
	return nil, "", pathKnown
}

func matchPattern(pattern, path string) (string, bool) {
	base, hasID := strings.CutSuffix(pattern, "/{id}")
	if !hasID {
		return "", path == pattern
	}
	rest, ok := strings.CutPrefix(path, base+"/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

// handle is the fasthttp handler: request id, routing, authentication, the handler, the one
// error-to-status mapping and the canonical log line.
func (s *Server) handle(rc *fasthttp.RequestCtx) {
	start := time.Now()
	c := callPool.Get().(*call)
	defer releaseCall(c)
	c.rc, c.route = rc, "unmatched"
	reqID := edge.RequestID(rc, &c.idBuf)
	c.reqID = reqID
	err := s.dispatch(c)
	if guest := asGuestError(err); guest != nil {
		writeGuestError(rc, guest)
		err = nil
	}
	if err != nil {
		p := toProblem(err)
		if p.Status == http.StatusInternalServerError {
			s.log.Error("request failed", "request_id", string(reqID), "route", c.route, "error", err.Error())
		}
		edge.WriteProblem(rc, p, c.wrap)
		if p.Status == http.StatusRequestEntityTooLarge {
			edge.DrainBody(rc)
		}
	}
	// Set last: a proxied answer replaces the whole response.
	rc.Response.Header.SetCanonical(edge.NameRequestID, reqID)
	l := obs.RequestLine{RequestID: reqID, Start: start, Method: edge.MethodName(rc.Method()), Route: c.route,
		Status: rc.Response.StatusCode(), Duration: time.Since(start), Destination: c.destDuration,
		Transforms: c.transformDuration, ProxyID: c.proxyID, Tokens: c.tokens, Conn: rc.ConnID(),
		ErrClass: c.errClass}
	if c.who != nil {
		l.Application = c.who.AppID
	}
	s.metrics.Observe(c.route, l.Status, l.Duration, c.destDuration, c.tokens)
	if err == nil && c.stream != nil {
		c.stream.logLater(&l) // the body is still on its way: logged when it ends
		return
	}
	if !rc.Response.IsBodyStream() {
		l.Bytes = int64(len(rc.Response.Body()))
	}
	s.logRequest(rc, &l)
}

// asGuestError is the guest transform's error in err's chain, if there is one.
func asGuestError(err error) *guestError {
	if err == nil {
		return nil
	}
	var g *guestError
	if errors.As(err, &g) {
		return g
	}
	return nil
}

func (s *Server) dispatch(c *call) error {
	rc := c.rc
	if isProxyPath(rc.Path()) {
		c.route, c.wrap = "/proxy", true
		return s.invokeProxy(c)
	}
	if string(rc.Path()) == "/openapi.json" && rc.IsGet() {
		c.route = "/openapi.json"
		return s.serveOpenAPI(c) // public: the API description holds no secrets
	}
	if isVaultProxyPath(rc.Path()) {
		c.route, c.wrap = "/vault_proxy", true
		return s.vaultProxy(c)
	}
	rt, id, known := match(string(rc.Method()), rc.Path())
	if rt == nil {
		if known {
			return edge.NewProblem(http.StatusMethodNotAllowed, "method not allowed on this path")
		}
		return edge.ErrNotFound
	}
	c.route, c.id = rt.pattern, id
	who, err := s.auth.Authenticate(rc)
	if err != nil {
		return err
	}
	if who == nil {
		return edge.ErrUnauthenticated
	}
	c.who = who
	if err := s.auth.AllowApplication(c.rc, c.who); err != nil {
		return err
	}
	return rt.h(s, c)
}

// require fails with 403 unless the caller holds every permission in want.
func (c *call) require(want edge.Perm, name string) error {
	if !c.who.Can(want) {
		return edge.Forbidden(name)
	}
	return nil
}

// event is the audit record of op by the caller on one entity.
func (s *Server) event(c *call, entityType, entityID, op string) store.Event {
	return edge.Event(c.who, s.now(), entityType, entityID, op)
}
