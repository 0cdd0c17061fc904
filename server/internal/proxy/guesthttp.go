package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/transforms"
)

// GuestHTTP sends the guests' sluice.http_request calls (transforms.HTTPDoer) the way the proxy
// reaches destinations: the destination policy checks the URL, the proxy's client dials through
// the egress dialer (which checks every resolved address) with the proxy's TLS configuration,
// and the destination timeout applies, cut short by the guest's deadline. The body is read
// under the same deadline, at most one byte past the guest's limit. Fill the fields before the
// engine's first call (see LateGuestHTTP); they are not changed after.
type GuestHTTP struct {
	Policy  egress.Policy
	Client  *fasthttp.Client
	Timeout time.Duration // the destination timeout
	Metrics *obs.GuestHTTP
}

// LateGuestHTTP is the engine's HTTPDoer when the GuestHTTP it delegates to is built after the
// engine (the shell builds the client after it) and may be rebuilt while serving. Its Metrics
// are registered once.
type LateGuestHTTP struct {
	Metrics *obs.GuestHTTP
	g       atomic.Pointer[GuestHTTP]
}

var errGuestHTTPNotReady = errors.New("http_request is not available yet")

// Set makes g the doer from now on.
func (l *LateGuestHTTP) Set(g *GuestHTTP) { l.g.Store(g) }

// Do sends req with the current GuestHTTP.
func (l *LateGuestHTTP) Do(ctx context.Context, req *transforms.GuestRequest) (*transforms.GuestResponse, error) {
	g := l.g.Load()
	if g == nil {
		return nil, errGuestHTTPNotReady
	}
	return g.Do(ctx, req)
}

// guestWaitKey is the request value under which CountGuestHTTP keeps where to add the time.
type guestWaitKey struct{}

// CountGuestHTTP adds the time the guests' requests take during rc to *wait (the request log's
// destination time), until the returned func is called. The guest runs on rc's goroutine, so
// *wait needs no lock.
func CountGuestHTTP(rc *fasthttp.RequestCtx, wait *time.Duration) (stop func()) {
	rc.SetUserValue(guestWaitKey{}, wait)
	return func() { rc.RemoveUserValue(guestWaitKey{}) }
}

// addWait adds d to the counter CountGuestHTTP put in ctx, if any.
func addWait(ctx context.Context, d time.Duration) {
	if w, ok := ctx.Value(guestWaitKey{}).(*time.Duration); ok {
		*w += d
	}
}

var (
	errGuestTimeout     = errors.New("the destination did not answer in time")
	errGuestUnreachable = errors.New("the destination could not be reached")
)

// Do sends gr. Its errors name the rule or the failure, never the URL's path or query.
func (g *GuestHTTP) Do(ctx context.Context, gr *transforms.GuestRequest) (*transforms.GuestResponse, error) {
	u, err := g.Policy.CheckURL(gr.URL)
	if err != nil {
		g.Metrics.Done(obs.GuestHTTPRefused, 0)
		return nil, errors.New("the destination is not allowed: " + egress.Detail(err))
	}
	deadline := time.Now().Add(g.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(u.String()) // the URL as checked, not a second parser's reading of the guest's
	req.URI().DisablePathNormalizing = true
	req.Header.SetMethod(gr.Method)
	for _, h := range gr.Header {
		if !skipForward(h.Name) {
			req.Header.AddBytesKV(h.Name, h.Value)
		}
	}
	req.SetBodyRaw(gr.Body)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	start := time.Now()
	defer func() { addWait(ctx, time.Since(start)) }()
	if err := g.Client.DoDeadline(req, resp, deadline); err != nil {
		return nil, g.failed(err, time.Since(start))
	}
	out := &transforms.GuestResponse{Status: resp.StatusCode(), ContentLength: int64(resp.Header.ContentLength())}
	if out.ContentLength < 0 {
		out.ContentLength = -1 // chunked or until close
	}
	conn := resp.Header.PeekCanonical(nameConnection)
	for k, v := range resp.Header.All() {
		if !isHopByHop(k) && !namedIn(conn, k) {
			out.Header = append(out.Header, transforms.Header{Name: bytes.Clone(k), Value: bytes.Clone(v)})
		}
	}
	if out.ContentLength > int64(gr.MaxResponseBytes) {
		g.Metrics.Done(obs.GuestHTTPRefused, time.Since(start))
		return out, nil // the engine refuses it without a body
	}
	body, err := readGuestBody(resp, gr.MaxResponseBytes)
	if err != nil {
		return nil, g.failed(err, time.Since(start))
	}
	g.Metrics.Done(obs.GuestHTTPOK, time.Since(start))
	out.Body = io.NopCloser(bytes.NewReader(body))
	return out, nil
}

// readGuestBody reads at most limit + 1 bytes of resp's body (one more shows the engine that it
// is too large) and lets the connection go.
func readGuestBody(resp *fasthttp.Response, limit int) ([]byte, error) {
	stream := resp.BodyStream()
	if stream == nil {
		return bytes.Clone(resp.Body()), nil
	}
	body, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
	if cerr := resp.CloseBodyStream(); err == nil && cerr != nil && len(body) <= limit {
		err = cerr
	}
	return body, err
}

func (g *GuestHTTP) failed(err error, took time.Duration) error {
	switch {
	case errors.Is(err, egress.ErrBlockedDestination), errors.Is(err, egress.ErrInvalidURL):
		g.Metrics.Done(obs.GuestHTTPRefused, 0)
		return errors.New("the destination is not allowed: " + egress.Detail(err))
	case isTimeout(err):
		g.Metrics.Done(obs.GuestHTTPFailed, took)
		return errGuestTimeout
	}
	g.Metrics.Done(obs.GuestHTTPFailed, took)
	return errGuestUnreachable
}
