package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/store"
)

// Problem is an RFC 7807 error body, the only shape of error the edge produces. Detail and Errors
// must never contain plaintext token data, keys or API keys: build them from field names and fixed
// text, never from values a caller sent.
type Problem struct {
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors map[string][]string `json:"errors,omitempty"`
	// RetryAfter is the Retry-After header of a 503, in seconds (0: none).
	RetryAfter int `json:"-"`
}

func (p *Problem) Error() string { return "server: " + p.Title + ": " + p.Detail }

func problem(status int, detail string) *Problem {
	return &Problem{Title: http.StatusText(status), Status: status, Detail: detail}
}

// invalid is a 400 that names the offending field.
func invalid(field, msg string) *Problem {
	p := problem(http.StatusBadRequest, "one or more validation errors occurred")
	p.Errors = map[string][]string{field: {msg}}
	return p
}

var (
	// errDiskLow names no path or size: those go to /readyz and the log.
	errDiskLow = &Problem{Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
		Detail: "the vault is low on disk space and takes no writes or detokenizations; nothing was written", RetryAfter: 10}
	errUnauthenticated = problem(http.StatusUnauthorized, "a valid BT-API-KEY header is required")
	errNotFound        = problem(http.StatusNotFound, "no such resource")
	errTooLarge        = problem(http.StatusRequestEntityTooLarge, "the request body is larger than allowed")
	errMalformedJSON   = problem(http.StatusBadRequest, "the request body is not valid JSON")
)

func forbidden(perm string) *Problem {
	return problem(http.StatusForbidden, "the application lacks the "+perm+" permission")
}

// toProblem is the one place that turns an error into a status and a body. Unknown errors become
// a 500 whose detail says nothing about the cause; the cause goes to the log (errors in this code
// base never carry plaintext).
func toProblem(err error) *Problem {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrConflict):
		return problem(http.StatusConflict, "a resource with this id already exists")
	case errors.Is(err, store.ErrInvalidInput):
		return problem(http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrDiskLow):
		return errDiskLow
	case errors.Is(err, store.ErrUnavailable):
		return &Problem{Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
			Detail: "the vault is unavailable; nothing was written", RetryAfter: 10}
	}
	return problem(http.StatusInternalServerError, "internal error")
}

// writeProblem writes p as the response; wrap puts it under "proxy_error" (the proxy routes).
func writeProblem(ctx *fasthttp.RequestCtx, p *Problem, wrap bool) {
	var body []byte
	if wrap {
		body, _ = json.Marshal(struct {
			ProxyError *Problem `json:"proxy_error"`
		}{p})
	} else {
		body, _ = json.Marshal(p)
	}
	ctx.Response.ResetBody()
	ctx.Response.Header.Del(headerDestinationStatus)
	ctx.SetStatusCode(p.Status)
	ctx.SetContentType("application/problem+json")
	ctx.SetBody(body)
	if p.Status == http.StatusRequestEntityTooLarge {
		ctx.SetConnectionClose() // the rest of the body was never read
	}
	if p.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
}

const headerDestinationStatus = "BT-PROXY-DESTINATION-STATUS"

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
