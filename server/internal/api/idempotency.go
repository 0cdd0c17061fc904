package api

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Idempotency (SPEC §2): BT-IDEMPOTENCY-KEY on a POST, PUT or PATCH names the request within the
// calling application for 24 hours. The record lives in the vault, so a replay survives a
// restart and reaches every node.

// IdempotencyTTL is how long a kept answer is replayed.
const IdempotencyTTL = 24 * time.Hour

var (
	nameIdempotencyKey = []byte("Bt-Idempotency-Key")

	errIdemInFlight = edge.NewProblem(http.StatusConflict, "a request with this idempotency key is still being answered")
	errIdemMismatch = edge.Invalid("BT-IDEMPOTENCY-KEY", "was used for a different request")
)

// IdempotencyKey is the request's BT-IDEMPOTENCY-KEY when its method takes one ("" otherwise).
func IdempotencyKey(c *edge.Call) string {
	switch edge.MethodName(c.RC.Method()) {
	case "POST", "PUT", "PATCH":
		return string(c.RC.Request.Header.PeekCanonical(nameIdempotencyKey))
	}
	return ""
}

// Idempotent runs h once per (application, key): a repeat of the same request replays the kept
// answer, a repeat while the first runs is a 409, and the key with another request is a 400.
// Only successful (2xx) answers are kept, as Basis Theory does: a refused or failed request may
// be retried with the same key.
func (s *API) Idempotent(c *edge.Call, key string, h func(*edge.Call) error) error {
	hash, err := s.requestHash(c)
	if err != nil {
		return err
	}
	res, err := s.store.BeginIdempotent(c.RC, c.Who.AppID, key, hash, IdempotencyTTL)
	if err != nil {
		return err
	}
	switch res.State {
	case store.IdemInFlight:
		return errIdemInFlight
	case store.IdemMismatch:
		return errIdemMismatch
	case store.IdemDone:
		c.RC.SetStatusCode(res.Status)
		if len(res.Body) > 0 {
			c.RC.SetContentType("application/json")
		}
		c.RC.SetBody(res.Body)
		return nil
	}
	herr := h(c)
	status := c.RC.Response.StatusCode()
	if herr != nil || status < 200 || status > 299 || c.RC.Response.IsBodyStream() {
		// The claim goes on a context of its own: the request's may be over.
		if aerr := s.store.AbandonIdempotent(s.ctx(), c.Who.AppID, key, res.Claim); aerr != nil && herr == nil {
			s.log.Warn("idempotency claim not freed", "route", c.Route, "error", aerr.Error())
		}
		return herr
	}
	if err := s.store.FinishIdempotent(s.ctx(), c.Who.AppID, key, res.Claim, status, c.RC.Response.Body()); err != nil {
		// The work is done and answered; only its replay is lost.
		s.log.Warn("idempotent answer not kept", "route", c.Route, "error", err.Error())
	}
	return nil
}

// requestHash is sha256 of method, path and body (read within the largest body any route
// takes; each handler still holds its own limit). A streamed body is read here and put back.
func (s *API) requestHash(c *edge.Call) ([]byte, error) {
	body, err := edge.ReadBody(c.RC, max(s.opt.APIBodyBytes, s.opt.ModuleBytes))
	if err != nil {
		return nil, err
	}
	if c.RC.RequestBodyStream() != nil { // read from the stream: the handler reads it again
		c.RC.Request.SetBody(body)
	}
	return RequestHash(c.RC.Method(), c.RC.Path(), body), nil
}

// RequestHash is what names a request to its idempotency record: sha256 of its method, path
// and body, each length-prefixed so that no two requests hash alike by moving bytes between
// parts.
func RequestHash(method, path, body []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{method, path, body} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return h.Sum(nil)
}
