package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/api"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/server/internal/proxy"
)

var callPool = sync.Pool{New: func() any { return new(edge.Call) }}

// releaseCall returns c to the pool. Nothing may hold c after the handler returns (response
// bodies that stream do not reference it).
func releaseCall(c *edge.Call) {
	*c = edge.Call{}
	callPool.Put(c)
}

type handlerFunc func(a *api.API, c *edge.Call) error

type route struct {
	pattern string // "/tokens/{id}"
	method  string
	h       handlerFunc
}

// routes lists every API endpoint. Paths are matched segment by segment; a "{name}" segment
// matches one non-empty segment (at most two per pattern: the route's id and sub-id).
var routes = []route{
	{"/tokens", "POST", (*api.API).CreateToken},
	{"/tokens/{id}", "GET", (*api.API).GetToken},
	{"/tokens/{id}", "PATCH", (*api.API).PatchToken},
	{"/tokens/{id}", "DELETE", (*api.API).DeleteToken},
	{"/v2/tokens", "GET", (*api.API).ListTokensV2},
	{"/v2/tokens/search", "POST", (*api.API).SearchTokensV2},
	{"/tokenize", "POST", (*api.API).Tokenize},
	{"/detokenize", "POST", (*api.API).Detokenize},
	{"/applications", "POST", (*api.API).CreateApplication},
	{"/applications", "GET", (*api.API).ListApplications},
	{"/applications/key", "GET", (*api.API).GetApplicationByKey}, // before /applications/{id}
	{"/applications/{id}", "GET", (*api.API).GetApplication},
	{"/applications/{id}", "PUT", (*api.API).UpdateApplication},
	{"/applications/{id}", "PATCH", (*api.API).UpdateApplication},
	{"/applications/{id}", "DELETE", (*api.API).DeleteApplication},
	{"/applications/{id}/keys", "POST", (*api.API).CreateApplicationKey},
	{"/applications/{id}/keys", "GET", (*api.API).ListApplicationKeys},
	{"/applications/{id}/keys/{keyId}", "GET", (*api.API).GetApplicationKey},
	{"/applications/{id}/keys/{keyId}", "DELETE", (*api.API).DeleteApplicationKey},
	{"/permissions", "GET", (*api.API).ListPermissions},
	{"/logs", "GET", (*api.API).ListLogs},
	{"/logs/entity-types", "GET", (*api.API).ListLogEntityTypes},
	{"/proxies", "POST", (*api.API).CreateProxy},
	{"/proxies", "GET", (*api.API).ListProxies},
	{"/proxies/{id}", "GET", (*api.API).GetProxy},
	{"/proxies/{id}", "PUT", (*api.API).UpdateProxy},
	{"/proxies/{id}", "PATCH", (*api.API).PatchProxy},
	{"/proxies/{id}", "DELETE", (*api.API).DeleteProxy},
	{"/keys", "POST", (*api.API).CreateKey},
	{"/keys", "GET", (*api.API).ListKeys},
	{"/keys/{id}", "GET", (*api.API).GetKey},
	{"/keys/{id}", "DELETE", (*api.API).DeleteKey},
	{"/transforms", "POST", (*api.API).CreateTransform},
	{"/transforms", "GET", (*api.API).ListTransforms},
	{"/transforms/{id}", "GET", (*api.API).GetTransform},
	{"/transforms/{id}", "DELETE", (*api.API).DeleteTransform},
	{"/reactors", "POST", (*api.API).CreateReactor},
	{"/reactors", "GET", (*api.API).ListReactors},
	{"/reactors/{id}", "GET", (*api.API).GetReactor},
	{"/reactors/{id}", "PUT", (*api.API).UpdateReactor},
	{"/reactors/{id}", "PATCH", (*api.API).PatchReactor},
	{"/reactors/{id}", "DELETE", (*api.API).DeleteReactor},
	{"/reactors/{id}/react", "POST", (*api.API).React},
}

// match finds the route for path (as sent: not yet percent-decoded) and method. It returns the
// route (nil if none), the values of its parameters in order, each percent-decoded once, and
// whether the path exists under another method. Splitting before decoding keeps a "%2F" inside
// an id from becoming a separator.
func match(method string, path []byte) (r *route, args [2]string, pathKnown bool) {
	p := string(bytes.TrimSuffix(path, []byte("/")))
	for i := range routes {
		rt := &routes[i]
		a, ok := matchPattern(rt.pattern, p)
		if !ok {
			continue
		}
		pathKnown = true
		if rt.method == method {
			return rt, a, true
		}
	}
	return nil, [2]string{}, pathKnown
}

func matchPattern(pattern, path string) (args [2]string, ok bool) {
	n := 0
	for {
		pseg, prest, pmore := strings.Cut(strings.TrimPrefix(pattern, "/"), "/")
		seg, rest, more := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if !strings.HasPrefix(path, "/") || pmore != more {
			return args, false
		}
		if strings.HasPrefix(pseg, "{") {
			arg, err := url.PathUnescape(seg)
			if seg == "" || n == len(args) || err != nil {
				return args, false
			}
			args[n] = arg
			n++
		} else if seg != pseg {
			return args, false
		}
		if !more {
			return args, true
		}
		pattern, path = "/"+prest, "/"+rest
	}
}

// handle is the fasthttp handler: request id, routing, authentication, the handler, the one
// error-to-status mapping and the canonical log line.
func (s *Server) handle(rc *fasthttp.RequestCtx) {
	start := time.Now()
	c := callPool.Get().(*edge.Call)
	defer releaseCall(c)
	c.RC, c.Route = rc, "unmatched"
	reqID := edge.RequestID(rc, &c.IDBuf)
	c.ReqID = reqID
	err := s.dispatch(c)
	if proxy.WriteGuestAnswer(rc, err) { // a guest transform answered in its own words
		err = nil
	}
	if err != nil {
		p := toProblem(err)
		if p.Status == http.StatusInternalServerError {
			s.log.Error("request failed", "request_id", string(reqID), "route", c.Route, "error", err.Error())
		}
		edge.WriteProblem(rc, p, c.Wrap)
		if p.Status == http.StatusRequestEntityTooLarge {
			edge.DrainBody(rc)
		}
	}
	// Set last: a proxied answer replaces the whole response.
	rc.Response.Header.SetCanonical(edge.NameRequestID, reqID)
	rc.Response.Header.SetCanonical(edge.NameTraceID, reqID)
	l := obs.RequestLine{RequestID: reqID, Start: start, Method: edge.MethodName(rc.Method()), Route: c.Route,
		Status: rc.Response.StatusCode(), Duration: time.Since(start), Destination: c.DestDuration,
		Transforms: c.TransformDuration, ProxyID: c.ProxyID, Tokens: c.Tokens, Conn: rc.ConnID(),
		ErrClass: c.ErrClass}
	if c.Who != nil {
		l.Application = c.Who.AppID
	}
	s.metrics.Observe(c.Route, l.Status, l.Duration, c.DestDuration, c.Tokens)
	if err == nil && c.Stream != nil {
		// The body is still on its way: logged when it ends. LogLater copies the line; passing
		// a copy keeps l itself off the heap on every request.
		lc := l
		c.Stream.LogLater(&lc)
		return
	}
	if !rc.Response.IsBodyStream() {
		l.Bytes = int64(len(rc.Response.Body()))
	}
	s.logRequest(rc, &l)
}

func (s *Server) dispatch(c *edge.Call) error {
	rc := c.RC
	if proxy.IsProxyPath(rc.Path()) {
		c.Route, c.Wrap = "/proxy", true
		return s.proxy.Invoke(c)
	}
	if string(rc.Path()) == "/openapi.json" && rc.IsGet() {
		c.Route = "/openapi.json"
		return s.serveOpenAPI(c) // public: the API description holds no secrets
	}
	if proxy.IsVaultProxyPath(rc.Path()) {
		c.Route, c.Wrap = "/vault_proxy", true
		return s.proxy.VaultProxy(c)
	}
	rt, args, known := match(string(rc.Method()), rc.URI().PathOriginal())
	if rt == nil {
		if known {
			return edge.NewProblem(http.StatusMethodNotAllowed, "method not allowed on this path")
		}
		return edge.ErrNotFound
	}
	c.Route, c.ID, c.SubID = rt.pattern, args[0], args[1]
	who, err := s.auth.Authenticate(rc)
	if err != nil {
		return err
	}
	if who == nil {
		return edge.ErrUnauthenticated
	}
	c.Who = who
	if err := s.auth.AllowApplication(c.RC, c.Who); err != nil {
		return err
	}
	if key := api.IdempotencyKey(c); key != "" {
		return s.api.Idempotent(c, key, func(c *edge.Call) error { return rt.h(s.api, c) })
	}
	return rt.h(s.api, c)
}
