package server

import (
	"errors"
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/proxy"
	"github.com/sluice-edge/sluice/store"
)

var errAuditFailed = edge.NewProblem(http.StatusInternalServerError, "the audit record could not be written; nothing was forwarded")

// toProblem is the one place that turns an error into a status and a body. Unknown errors become
// a 500 whose detail says nothing about the cause; the cause goes to the log (errors in this code
// base never carry plaintext).
func toProblem(err error) *edge.Problem {
	var p *edge.Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, proxy.ErrAuditFailed) && !errors.Is(err, store.ErrUnavailable):
		return errAuditFailed // whatever the store said: an audit record is never a 404 or 409
	case errors.Is(err, store.ErrNotFound):
		return edge.ErrNotFound
	case errors.Is(err, store.ErrConflict):
		return edge.NewProblem(http.StatusConflict, "a resource with this id already exists")
	case errors.Is(err, store.ErrInvalidInput):
		return edge.NewProblem(http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrDiskLow):
		return edge.ErrDiskLow
	case errors.Is(err, store.ErrUnavailable):
		return &edge.Problem{Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
			Detail: "the vault is unavailable; nothing was written", RetryAfter: 10}
	}
	return edge.NewProblem(http.StatusInternalServerError, "internal error")
}

// notReady is why /readyz answers 503, or "" when the edge is ready: not started or stopping,
// or a vault that refuses writes (a disk below its reserve).
func (s *Server) notReady() string {
	if !s.ready.Load() {
		return "starting or stopping"
	}
	if err := s.store.Ready(); err != nil {
		return err.Error()
	}
	return ""
}
