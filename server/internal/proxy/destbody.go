package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/obs"
)

// The destination's answer comes into a response of its own (dresp) and is passed on to the
// caller's in one of two ways (passBody):
//   - whole: the body was all there in the first read. It is copied into the caller's response,
//     the destination's connection goes back to the pool at once, and a failure can still be
//     answered with a clean 502 — nothing has been sent.
//   - streamed: the caller's headers go out at once, then each piece of the body as it comes.
//     Reads may pause up to Timeouts.DestinationBodyIdle, with no cap on the total; a body that
//     breaks off or stalls is cut visibly (the declared length is not reached, or the last chunk
//     never comes) and the request's log line, written when the body ends, says so.

// prefetchSize is the most the first read takes; a body that ends within it is passed whole.
const prefetchSize = 8 << 10

// Error classes of the request log line.
const (
	errDestinationTimeout     = "destination_timeout"      // no response headers in time
	errDestinationUnreachable = "destination_unreachable"  // dial, TLS or a broken answer
	errDestinationReset       = "destination_reset"        // the body broke off
	errDestinationIdle        = "destination_idle_timeout" // the body paused too long
	errDestinationStatus      = "destination_status"       // an informational (1xx) answer
	errCallerClosed           = "caller_closed"            // the caller stopped reading
)

// passBody moves the destination's answer (dresp, whose body is a stream) into the caller's
// response resp, which takes dresp's status and headers. dresp is released or handed on.
func (s *Pipeline) passBody(x *exchange, dresp, resp *fasthttp.Response) error {
	src := dresp.BodyStream()
	if x.prefetch == nil {
		x.prefetch = make([]byte, prefetchSize)
	}
	buf := x.prefetch
	n, err := src.Read(buf)
	if cl := dresp.Header.ContentLength(); err == nil && cl >= 0 && n == cl {
		_, err = src.Read(buf[n:n]) // at the declared end: io.EOF without touching the network
	}
	if err != nil && err != io.EOF && !errors.Is(err, io.EOF) { // io.EOF itself: the usual end, without errors.Is' walk
		fasthttp.ReleaseResponse(dresp)
		return bodyFailed(x.c, err)
	}
	dresp.Header.CopyTo(&resp.Header)
	if err != nil { // io.EOF: the whole body
		resp.SetBody(buf[:n])
		fasthttp.ReleaseResponse(dresp)
		return nil
	}
	if c := destConn(dresp); c != nil {
		c.BodyIdle(s.opt.DestinationBodyIdle)
	}
	b := &destBody{s: s, dresp: dresp, src: src, pending: append([]byte(nil), buf[:n]...)}
	resp.SetBodyStream(b, dresp.Header.ContentLength())
	resp.ImmediateHeaderFlush = true
	x.c.Stream = b
	return nil
}

// bodyFailed records why the destination's body could not be read before anything was sent
// and returns the caller's answer.
func bodyFailed(c *edge.Call, err error) error {
	if isTimeout(err) {
		c.ErrClass = errDestinationTimeout
		return edge.NewProblem(http.StatusRequestTimeout, "the destination did not send its body in time")
	}
	c.ErrClass = errDestinationReset
	return edge.NewProblem(http.StatusBadGateway, "the destination's body broke off")
}

// destBody is the destination's body streaming to the caller. fasthttp reads it after the
// handler has returned and closes it when done; it owns dresp until then.
type destBody struct {
	s       *Pipeline
	dresp   *fasthttp.Response
	src     io.Reader
	pending []byte // what the first read took
	sent    int64
	class   string // why the body ended early; "" if it did not

	line  obs.RequestLine // set by handle; written when the body ends
	reqID [128]byte       // line.requestID's storage: the call's is reused
	ready bool            // line is set
}

func (b *destBody) Read(p []byte) (int, error) {
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		b.sent += int64(n)
		return n, nil
	}
	n, err := b.src.Read(p)
	b.sent += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && b.class == "" {
		b.class = errDestinationReset
		if isTimeout(err) {
			b.class = errDestinationIdle
		}
	}
	return n, err
}

// CloseWithError is called by fasthttp once the body is written or has failed (err: why). It
// releases the destination's answer (its connection is pooled only if the body was read to
// the end) and writes the request's log line.
func (b *destBody) CloseWithError(err error) error {
	if b.dresp == nil {
		return nil
	}
	fasthttp.ReleaseResponse(b.dresp)
	b.dresp, b.src = nil, nil
	if err != nil && b.class == "" {
		b.class = errCallerClosed
	}
	if b.ready {
		b.line.Bytes, b.line.ErrClass = b.sent, b.class
		b.line.Duration = time.Since(b.line.Start)
		b.s.logRequest(context.Background(), &b.line)
	}
	return nil
}

// LogLater makes l the line written when the body ends.
func (b *destBody) LogLater(l *obs.RequestLine) {
	b.line = *l
	b.line.RequestID = b.reqID[:copy(b.reqID[:], l.RequestID)]
	b.ready = true
}

// destConn is the connection dresp came on, or nil: the shell's dialled connections carry
// themselves in their local address (server/deadline.go), so a body can get an idle timeout.
func destConn(dresp *fasthttp.Response) interface{ BodyIdle(time.Duration) } {
	c, _ := dresp.LocalAddr().(interface{ BodyIdle(time.Duration) })
	return c
}

// isTimeout reports whether err is a deadline passing (fasthttp's own or the network's).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.As(err, &ne) && ne.Timeout()
}
