package edge

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
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

func (p *Problem) Error() string { return "edge: " + p.Title + ": " + p.Detail }

// NewProblem is a Problem of status with a fixed detail.
func NewProblem(status int, detail string) *Problem {
	return &Problem{Title: http.StatusText(status), Status: status, Detail: detail}
}

// Invalid is a 400 that names the offending field.
func Invalid(field, msg string) *Problem {
	p := NewProblem(http.StatusBadRequest, "one or more validation errors occurred")
	p.Errors = map[string][]string{field: {msg}}
	return p
}

var (
	// ErrDiskLow names no path or size: those go to /readyz and the log.
	ErrDiskLow = &Problem{Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
		Detail: "the vault is low on disk space and takes no writes or detokenizations; nothing was written", RetryAfter: 10}
	ErrUnauthenticated = NewProblem(http.StatusUnauthorized, "a valid BT-API-KEY header is required")
	ErrNotFound        = NewProblem(http.StatusNotFound, "no such resource")
	ErrTooLarge        = NewProblem(http.StatusRequestEntityTooLarge, "the request body is larger than allowed")
	ErrMalformedJSON   = NewProblem(http.StatusBadRequest, "the request body is not valid JSON")
)

// Forbidden is the 403 of a caller that lacks the permission named perm.
func Forbidden(perm string) *Problem {
	return NewProblem(http.StatusForbidden, "the application lacks the "+perm+" permission")
}

// WriteProblem writes p as the response; wrap puts it under "proxy_error" (the proxy routes).
func WriteProblem(rc *fasthttp.RequestCtx, p *Problem, wrap bool) {
	var body []byte
	if wrap {
		body, _ = json.Marshal(struct {
			ProxyError *Problem `json:"proxy_error"`
		}{p})
	} else {
		body, _ = json.Marshal(p)
	}
	rc.Response.ResetBody()
	rc.Response.Header.Del(HeaderDestinationStatus)
	rc.SetStatusCode(p.Status)
	rc.SetContentType("application/problem+json")
	rc.SetBody(body)
	if p.Status == http.StatusRequestEntityTooLarge {
		rc.SetConnectionClose() // the rest of the body was never read
	}
	if p.RetryAfter > 0 {
		rc.Response.Header.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
}

// HeaderDestinationStatus carries the destination's status on a proxied answer; an error the
// edge writes itself removes it.
const HeaderDestinationStatus = "BT-PROXY-DESTINATION-STATUS"

// QuoteSafe quotes a short caller-supplied name for an error message, cut to 64 bytes. Use it only
// for names (permissions, fields, filters), never for values.
func QuoteSafe(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r == 0x7f {
			return '?'
		}
		return r
	}, s) + `"`
}
