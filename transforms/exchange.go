package transforms

import (
	"context"
	"sync"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// Header is one header field. Name and Value are views: see Exchange for who
// owns the bytes.
type Header struct {
	Name, Value []byte
}

// Services is implemented by the server for one proxied exchange. The engine
// calls it on the goroutine that called OnRequest/OnResponse, only while that
// call runs.
type Services interface {
	// Tokenize vaults data (JSON) as a new token of tokenType with the
	// invoking application's permissions and returns the new token's id.
	// ctx ends when the transform call's time is up and carries the values
	// of the context given to OnRequest/OnResponse; it is valid only until
	// Tokenize returns. data is owned by the
	// engine and reused after Tokenize returns: copy it to keep it. The
	// error's text is shown to the guest, so it must not contain secrets.
	Tokenize(ctx context.Context, tokenType string, data []byte) (id string, err error)
	// Log records a message the guest wrote (sluice.log, stdout, stderr).
	// msg is owned by the engine and valid only until Log returns. The engine bounds the bytes per
	// call; Log output must never be shown to API callers.
	Log(msg []byte)
}

// Part is a set of the parts of an exchange a guest replaced.
type Part uint8

// The parts a guest can replace.
const (
	PartPath Part = 1 << iota
	PartQuery
	PartHeaders
	PartBody
	PartStatus
)

// Has reports whether p contains q.
func (p Part) Has(q Part) bool { return p&q != 0 }

// Exchange is the host-side state of one transform call: the message the
// guest reads and may replace, and the proxy's configuration.
//
// Before the call the caller fills the exported fields; it keeps owning the
// bytes it put there and must keep them unchanged until the call returns.
// When the guest replaces a part, the engine points the field at a buffer
// the Exchange owns and records the part in Changed; those bytes stay valid
// until Reset or ReleaseExchange. The engine never writes into caller-owned
// bytes. An Exchange is used by one call at a time and is not safe for
// concurrent use. The engine does not keep it after the call returns.
type Exchange struct {
	// Request parts. In the response phase they are read-only context.
	Method, Path, Query []byte
	// Status is the response status (response phase).
	Status int
	// Headers are the request headers (request phase) or the response
	// headers (response phase), in order.
	Headers []Header
	// Body is the whole request or response body.
	Body []byte
	// Config is the proxy's configuration. The engine only reads it.
	Config map[string]string
	// Services may be nil: tokenize then fails and logs are dropped.
	Services Services

	changed Part

	// Buffers owned by the Exchange, reused across calls.
	pathBuf, queryBuf, bodyBuf []byte
	hdrArena, hdrSpare         []byte   // the guest's headers block; the next one, while checked
	hdrs, hdrsSpare            []Header // views of hdrArena; of hdrSpare
	inHdrs                     []Header // what AddHeader appended
	result                     []byte   // last tokenize id or error message
	scratch                    []byte   // copies of guest data handed to Services
	logUsed                    int
	tokens                     int // tokenize calls in this call
	httpCalls                  int // http_request calls in this call

	// A reactor's call: its args (the caller's bytes) and the result the
	// guest wrote (views of resArena; nil when absent).
	args, resRaw, resTokenize []byte
	resArena                  []byte

	// Outcome recorded by sluice.end.
	endKind   ErrorKind
	endStatus int
	endArena  []byte   // messages or custom headers + body
	endMsgs   [][2]int // offsets of messages in endArena
	endHdrs   []Header
	endBody   []byte
}

var exchangePool = sync.Pool{New: func() any { return new(Exchange) }}

// AcquireExchange returns an empty Exchange from a pool. Give it back with
// ReleaseExchange when the call's results are no longer used.
func AcquireExchange() *Exchange { return exchangePool.Get().(*Exchange) }

// AddHeader appends a header to Headers, in an array the Exchange keeps from call to call (no
// allocation once warm). Name and value stay the caller's bytes. Fill Headers either this way or
// by assigning it, not both.
func (ex *Exchange) AddHeader(name, value []byte) {
	ex.inHdrs = append(ex.inHdrs, Header{Name: name, Value: value})
	ex.Headers = ex.inHdrs
}

// ReleaseExchange resets ex and returns it to the pool. ex and every slice
// obtained from it (replaced parts, Outcome fields) must not be used after.
func ReleaseExchange(ex *Exchange) {
	ex.Reset()
	if cap(ex.bodyBuf) > maxPooledBuffer {
		ex.bodyBuf = nil
	}
	if cap(ex.endArena) > maxPooledBuffer {
		ex.endArena = nil
	}
	if cap(ex.scratch) > maxPooledBuffer {
		ex.scratch = nil
	}
	if cap(ex.result) > maxPooledBuffer { // an http_request response
		ex.result = nil
	}
	if cap(ex.resArena) > maxPooledBuffer {
		ex.resArena = nil
	}
	if cap(ex.hdrArena) > maxPooledBuffer || cap(ex.hdrSpare) > maxPooledBuffer {
		ex.hdrArena, ex.hdrs, ex.hdrSpare, ex.hdrsSpare = nil, nil, nil, nil
	}
	if cap(ex.inHdrs) > abi.MaxHeaders {
		ex.inHdrs = nil
	}
	exchangePool.Put(ex)
}

const maxPooledBuffer = 1 << 20

// Reset clears ex for another call, keeping its buffers.
func (ex *Exchange) Reset() {
	ex.Method, ex.Path, ex.Query = nil, nil, nil
	ex.Status = 0
	ex.Headers = nil
	ex.Body = nil
	ex.Config = nil
	ex.Services = nil
	ex.args = nil
	ex.changed = 0
	ex.result = ex.result[:0]
	clear(ex.hdrs)
	ex.hdrs = ex.hdrs[:0]
	clear(ex.hdrsSpare)
	ex.hdrsSpare = ex.hdrsSpare[:0]
	clear(ex.inHdrs) // views of the caller's bytes: not kept past the call
	ex.inHdrs = ex.inHdrs[:0]
	ex.resetCall()
}

// resetCall forgets the outcome of a previous call (the parts it replaced
// stay, so request transforms can be chained on one Exchange).
func (ex *Exchange) resetCall() {
	ex.logUsed = 0
	ex.tokens = 0
	ex.httpCalls = 0
	ex.resRaw, ex.resTokenize = nil, nil
	ex.endKind = 0
	ex.endStatus = 0
	ex.endArena = ex.endArena[:0]
	ex.endMsgs = ex.endMsgs[:0]
	clear(ex.endHdrs)
	ex.endHdrs = ex.endHdrs[:0]
	ex.endBody = nil
}

// Changed reports the parts the guest replaced since the last Reset.
func (ex *Exchange) Changed() Part { return ex.changed }

// HeaderValue returns the value of the first header named name (ASCII
// case-insensitive), as a view, or nil.
func (ex *Exchange) HeaderValue(name string) []byte {
	for _, h := range ex.Headers {
		if equalFold(h.Name, name) {
			return h.Value
		}
	}
	return nil
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ErrorKind is how a guest ended an exchange.
type ErrorKind uint8

// The standard errors of Basis Theory reactors, and the custom response.
const (
	NoError ErrorKind = iota
	AuthenticationError
	AuthorizationError
	BadRequestError
	InvalidPaymentMethodError
	RateLimitError
	ServiceUnavailableError
	ReactorRuntimeError
	CustomHTTPResponse
)

var kindNames = [...]string{
	NoError:                   "NoError",
	AuthenticationError:       "AuthenticationError",
	AuthorizationError:        "AuthorizationError",
	BadRequestError:           "BadRequestError",
	InvalidPaymentMethodError: "InvalidPaymentMethodError",
	RateLimitError:            "RateLimitError",
	ServiceUnavailableError:   "ServiceUnavailableError",
	ReactorRuntimeError:       "ReactorRuntimeError",
	CustomHTTPResponse:        "CustomHttpResponseError",
}

var kindStatus = [...]int{
	AuthenticationError:       401,
	AuthorizationError:        403,
	BadRequestError:           400,
	InvalidPaymentMethodError: 402,
	RateLimitError:            429,
	ServiceUnavailableError:   503,
	ReactorRuntimeError:       500,
}

// String returns the Basis Theory name of k, e.g. "AuthenticationError".
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "UnknownError"
}

// Status returns the HTTP status of a standard error, or 0.
func (k ErrorKind) Status() int {
	if int(k) < len(kindStatus) {
		return kindStatus[k]
	}
	return 0
}

// Outcome is the result of a transform call. The zero Outcome means
// continue: the exchange goes on with the parts in Exchange.Changed replaced.
//
// When Ended is true the guest stopped the exchange: Kind is a standard
// error (Status is its HTTP status, Messages its messages) or
// CustomHTTPResponse (Status, Headers and Body must be returned exactly).
// Headers and Body are views owned by the Exchange of the call: valid until
// it is Reset or released.
type Outcome struct {
	Ended    bool
	Kind     ErrorKind
	Status   int
	Messages []string
	Headers  []Header
	Body     []byte
}

// outcome builds the Outcome of a call that returned Ended.
func (ex *Exchange) outcome() Outcome {
	o := Outcome{Ended: true, Kind: ex.endKind, Status: ex.endStatus}
	if ex.endKind == CustomHTTPResponse {
		o.Headers = ex.endHdrs
		o.Body = ex.endBody
		return o
	}
	o.Messages = make([]string, len(ex.endMsgs))
	for i, m := range ex.endMsgs {
		o.Messages[i] = string(ex.endArena[m[0]:m[1]])
	}
	return o
}
