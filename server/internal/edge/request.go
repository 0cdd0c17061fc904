package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/obs"
)

// MethodName returns the method as a constant string for the usual methods (no allocation).
func MethodName(m []byte) string {
	for _, k := range [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
		if string(m) == k {
			return k
		}
	}
	return string(m)
}

// RequestID is the caller's BT-TRACE-ID, else its X-Request-Id, if short and printable, else a
// new id; either way the id is in buf. (A view into the request's headers would not do: the
// proxy edits them in place, and fasthttp reuses a deleted header's storage for the next value
// it sets.)
func RequestID(rc *fasthttp.RequestCtx, buf *[128]byte) []byte {
	for _, name := range [...][]byte{NameTraceID, NameRequestID} {
		if v := rc.Request.Header.PeekCanonical(name); printableID(v, len(buf)) {
			return buf[:copy(buf[:], v)]
		}
	}
	obs.NewRequestID((*[24]byte)(buf[:24]))
	return buf[:24]
}

// printableID reports whether v can name a request: 1..max bytes of printable ASCII, no space.
func printableID(v []byte, max int) bool {
	if len(v) == 0 || len(v) > max {
		return false
	}
	for _, b := range v {
		if b <= 0x20 || b >= 0x7f {
			return false
		}
	}
	return true
}

// ReadBody reads the whole request body up to limit bytes; over it is a 413 before anything is
// parsed. The slice is valid until the handler returns.
func ReadBody(rc *fasthttp.RequestCtx, limit int64) ([]byte, error) {
	cl := rc.Request.Header.ContentLength()
	if cl > 0 && int64(cl) > limit {
		return nil, ErrTooLarge
	}
	r := rc.RequestBodyStream()
	if r == nil || cl >= 0 {
		// A known length within the limit: fasthttp reads it into the request's own pooled
		// buffer (no allocation); the slice is valid until the handler returns.
		b := rc.Request.Body()
		if int64(len(b)) > limit {
			return nil, ErrTooLarge
		}
		if r != nil && len(b) != cl {
			// Cut short: fasthttp's Body swallows the read error and answers its text.
			return nil, NewProblem(http.StatusBadRequest, "could not read the request body")
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, NewProblem(http.StatusBadRequest, "could not read the request body")
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// DecodeJSON reads the body (up to limit bytes) into v. Malformed JSON is a 400; a field of the
// wrong type is a 400 naming the field. Unknown fields are ignored, as Basis Theory's API does.
func DecodeJSON(rc *fasthttp.RequestCtx, limit int64, v any) error {
	ct := rc.Request.Header.ContentType()
	if mt := MediaType(ct); len(ct) > 0 && !strings.HasSuffix(mt, "/json") && !strings.HasSuffix(mt, "+json") {
		return NewProblem(http.StatusUnsupportedMediaType, "the request body must be JSON")
	}
	b, err := ReadBody(rc, limit)
	if err != nil {
		return err
	}
	return DecodeStrict(b, v)
}

// DecodeStrict decodes exactly one JSON value from b into v, with DecodeJSON's errors.
func DecodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Invalid(te.Field, "has the wrong type (want "+te.Type.String()+")")
		}
		return ErrMalformedJSON
	}
	if d.More() {
		return ErrMalformedJSON
	}
	return nil
}

// DrainBody reads and discards up to 8 MiB of a refused body so that the client, still sending,
// gets to read the answer instead of a connection reset. The connection is closed after.
func DrainBody(rc *fasthttp.RequestCtx) {
	if r := rc.RequestBodyStream(); r != nil {
		io.CopyN(io.Discard, r, 8<<20)
	}
}

// WriteJSON answers status with v as JSON.
func WriteJSON(rc *fasthttp.RequestCtx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	rc.SetBody(b)
	return nil
}

// MediaType is the lower-cased type/subtype of a Content-Type value.
func MediaType(ct []byte) string {
	if string(ct) == "application/json" { // as most clients send it: no case folding needed
		return "application/json"
	}
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	for _, known := range [...]string{"application/json", "application/x-www-form-urlencoded"} {
		if bytes.EqualFold(ct, []byte(known)) {
			return known // the usual ones without an allocation
		}
	}
	return strings.ToLower(string(ct))
}
