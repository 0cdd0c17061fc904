package edge

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/obs"
)

// Call is one request on its way through a handler: what the rooms read (the request, who is
// calling, the route's id) and what they report back for the log line and the metrics. It lives
// for the request only; the shell pools it.
type Call struct {
	RC    *fasthttp.RequestCtx
	Who   *Principal // nil when the request carried no valid key
	ID    string     // the {id} path segment, if the route has one
	SubID string     // the second parameter segment ("/applications/{id}/keys/{keyId}"), if any
	Route string     // the route pattern, for logs and metrics (never the raw path)
	Wrap  bool       // errors go out as {"proxy_error": …}

	DestDuration      time.Duration // time spent waiting on the destination
	TransformDuration time.Duration // time spent in request and response transforms
	Tokens            int           // tokens detokenized
	ProxyID           string        // the pre-configured proxy used, if any
	ErrClass          string        // why a proxied exchange failed, for the log
	Stream            Streaming     // a response body still on its way when the handler returns

	ReqID []byte    // the request id, in IDBuf
	IDBuf [128]byte // a copy: the caller's header storage is edited (and reused) in place
}

// Streaming is a response body still being sent when the handler returns: it writes the
// request's log line when it ends.
type Streaming interface {
	LogLater(l *obs.RequestLine)
}

// Require fails with 403 unless the caller holds every permission in want (named name).
func (c *Call) Require(want Perm, name string) error { return c.Who.Require(want, name) }
