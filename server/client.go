package server

import (
	"errors"
	"io"
	"syscall"

	"github.com/valyala/fasthttp"
)

// errStaleConn: a pooled destination connection turned out closed by its peer before anything
// of the next request was written on it.
var errStaleConn = errors.New("server: the destination closed the idle connection")

// retryDestination is fasthttp's RetryIfErr: whether a failed exchange is tried once more, on
// another connection. As net/http: always when nothing of the request was written
// (errStaleConn); otherwise only when the connection broke before any answer and the request
// may be sent twice — GET, HEAD, OPTIONS, TRACE, or an Idempotency-Key. (fasthttp itself never
// retries a streamed body.)
func retryDestination(req *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	if errors.Is(err, errStaleConn) {
		return false, true
	}
	h := &req.Header
	replayable := h.IsGet() || h.IsHead() || h.IsOptions() || h.IsTrace() ||
		len(h.Peek("Idempotency-Key")) > 0 || len(h.Peek("X-Idempotency-Key")) > 0
	return false, replayable && isConnReset(err)
}

// isConnReset reports whether err says the peer closed or reset the connection.
func isConnReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
