package transforms

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

func headersBlock(pairs ...string) []byte {
	b := abi.AppendU32(nil, uint32(len(pairs)/2))
	for _, p := range pairs {
		b = abi.AppendBytes(b, p)
	}
	return b
}

func messagesBlock(msgs ...string) []byte {
	b := abi.AppendU32(nil, uint32(len(msgs)))
	for _, m := range msgs {
		b = abi.AppendBytes(b, m)
	}
	return b
}

// Header splitting: a guest can never make the edge send CR, LF or NUL in
// a header, an invalid header name, or a path/query that breaks the line.
func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		block []byte
		want  int32
	}{
		{"CRLF in value", headersBlock("X-A", "ok\r\nSet-Cookie: evil=1"), abi.ErrInvalid},
		{"LF in value", headersBlock("X-A", "a\nb"), abi.ErrInvalid},
		{"NUL in value", headersBlock("X-A", "a\x00b"), abi.ErrInvalid},
		{"DEL in value", headersBlock("X-A", "a\x7fb"), abi.ErrInvalid},
		{"colon in name", headersBlock("X-A: b", "c"), abi.ErrInvalid},
		{"space in name", headersBlock("X A", "c"), abi.ErrInvalid},
		{"CR in name", headersBlock("X\rA", "c"), abi.ErrInvalid},
		{"empty name", headersBlock("", "c"), abi.ErrInvalid},
		{"count larger than content", abi.AppendU32(nil, 3), abi.ErrInvalid},
		{"count over the limit", abi.AppendU32(nil, abi.MaxHeaders+1), abi.ErrTooLarge},
		{"length past the end", append(abi.AppendU32(abi.AppendU32(nil, 1), 0xFFFFFFFF), 'x'), abi.ErrInvalid},
		{"trailing bytes", append(headersBlock("A", "b"), 0), abi.ErrInvalid},
		{"truncated count", []byte{1, 0}, abi.ErrInvalid},
		{"valid: tab and obs-text", headersBlock("X-A", "a\tb\xff", "x-b", ""), abi.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := hdr("Keep", "me")
			ex := &Exchange{Headers: orig}
			if got := ex.replaceHeaders(tt.block); got != tt.want {
				t.Fatalf("replaceHeaders = %d, want %d", got, tt.want)
			}
			if tt.want != abi.OK && (ex.Changed() != 0 || !slices.Equal(hdrStrings(ex.Headers), []string{"Keep: me"})) {
				t.Fatal("a refused block changed the headers")
			}
		})
	}
	for _, p := range []string{"/a\r\nHost: x", "/a b", "/a?b", "/a#b", "relative", "/a\x00"} {
		if abi.ValidPath(p) {
			t.Errorf("path %q accepted", p)
		}
	}
	for _, q := range []string{"a=1\r\n", "a=1 2", "a#b", "a=\x00"} {
		if abi.ValidQuery(q) {
			t.Errorf("query %q accepted", q)
		}
	}
	for _, ok := range []string{"", "/", "/v1/charges/%7Bid%7D"} {
		if !abi.ValidPath(ok) {
			t.Errorf("path %q refused", ok)
		}
	}
}

func TestReplacedHeadersSurviveAFailedReplace(t *testing.T) {
	t.Parallel()
	ex := &Exchange{}
	if ex.replaceHeaders(headersBlock("A", "1", "B", "2")) != abi.OK {
		t.Fatal("valid block refused")
	}
	if ex.replaceHeaders(headersBlock("C", "bad\n")) != abi.ErrInvalid {
		t.Fatal("invalid block accepted")
	}
	if got := hdrStrings(ex.Headers); !slices.Equal(got, []string{"A: 1", "B: 2"}) {
		t.Fatalf("headers = %q", got)
	}
}

func TestEndOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		end      func(ex *Exchange) int32
		code     int32
		kind     ErrorKind
		status   int
		messages []string
		headers  []string
		body     string
	}{
		{"standard error", func(ex *Exchange) int32 { return ex.endError(BadRequestError, messagesBlock("a", "", "ünïcode")) },
			abi.OK, BadRequestError, 400, []string{"a", "", "ünïcode"}, nil, ""},
		{"no messages", func(ex *Exchange) int32 { return ex.endError(RateLimitError, messagesBlock()) },
			abi.OK, RateLimitError, 429, []string{}, nil, ""},
		{"too many messages", func(ex *Exchange) int32 {
			return ex.endError(BadRequestError, messagesBlock(make([]string, abi.MaxMessages+1)...))
		}, abi.ErrTooLarge, 0, 0, nil, nil, ""},
		{"truncated messages", func(ex *Exchange) int32 { return ex.endError(BadRequestError, messagesBlock("abc")[:6]) },
			abi.ErrInvalid, 0, 0, nil, nil, ""},
		{"custom response", func(ex *Exchange) int32 {
			return ex.endCustom(append(abi.AppendU32(nil, 418), append(headersBlock("X-Custom", "yes"), `{"a":1}`...)...))
		}, abi.OK, CustomHTTPResponse, 418, nil, []string{"X-Custom: yes"}, `{"a":1}`},
		{"custom response status 99", func(ex *Exchange) int32 { return ex.endCustom(append(abi.AppendU32(nil, 99), headersBlock()...)) },
			abi.ErrInvalid, 0, 0, nil, nil, ""},
		{"custom response status 600", func(ex *Exchange) int32 { return ex.endCustom(append(abi.AppendU32(nil, 600), headersBlock()...)) },
			abi.ErrInvalid, 0, 0, nil, nil, ""},
		{"custom response header injection", func(ex *Exchange) int32 {
			return ex.endCustom(append(abi.AppendU32(nil, 200), headersBlock("X", "a\r\nb")...))
		}, abi.ErrInvalid, 0, 0, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &Exchange{}
			if got := tt.end(ex); got != tt.code {
				t.Fatalf("code = %d, want %d", got, tt.code)
			}
			if tt.code != abi.OK {
				return
			}
			o := ex.outcome()
			if o.Kind != tt.kind || o.Status != tt.status || !slices.Equal(o.Messages, tt.messages) ||
				!slices.Equal(hdrStrings(o.Headers), tt.headers) || string(o.Body) != tt.body {
				t.Fatalf("outcome = %+v", o)
			}
		})
	}
}

func TestErrorKindNamesAndStatuses(t *testing.T) {
	t.Parallel()
	want := map[ErrorKind]struct {
		name   string
		status int
	}{
		AuthenticationError: {"AuthenticationError", 401}, AuthorizationError: {"AuthorizationError", 403},
		BadRequestError: {"BadRequestError", 400}, InvalidPaymentMethodError: {"InvalidPaymentMethodError", 402},
		RateLimitError: {"RateLimitError", 429}, ServiceUnavailableError: {"ServiceUnavailableError", 503},
		ReactorRuntimeError: {"ReactorRuntimeError", 500}, CustomHTTPResponse: {"CustomHttpResponseError", 0},
	}
	for k, w := range want {
		if k.String() != w.name || k.Status() != w.status {
			t.Errorf("%d: %s %d, want %s %d", k, k, k.Status(), w.name, w.status)
		}
		if k != CustomHTTPResponse && int(k) > abi.KindReactorRuntimeError || k == CustomHTTPResponse && int(k) != abi.KindCustomResponse {
			t.Errorf("kind %d does not match the ABI", k)
		}
	}
	if ErrorKind(200).String() != "UnknownError" || ErrorKind(200).Status() != 0 {
		t.Error("unknown kind")
	}
}

func TestLogIsBounded(t *testing.T) {
	t.Parallel()
	svc := &fakeServices{}
	ex := &Exchange{Services: svc}
	msg := []byte(strings.Repeat("x", 600))
	for i := 0; i < 10; i++ {
		ex.log(msg, 1000)
	}
	if total := len(strings.Join(svc.logs, "")); total != 1000 {
		t.Fatalf("logged %d bytes, want the 1000-byte budget", total)
	}
	(&Exchange{}).log(msg, 1000) // no services: dropped, no panic
}

func TestHeadEncodingRoundTrip(t *testing.T) {
	t.Parallel()
	ex := &Exchange{Method: []byte("POST"), Path: []byte("/p"), Query: []byte("q=1"), Status: 201,
		Headers: hdr("A", "1", "B", "")}
	b := make([]byte, headSize(ex))
	encodeHead(b, ex)
	r := abi.NewReader(b)
	m, _ := r.Bytes()
	p, _ := r.Bytes()
	q, _ := r.Bytes()
	s, _ := r.U32()
	if string(m) != "POST" || string(p) != "/p" || string(q) != "q=1" || s != 201 {
		t.Fatalf("head = %q %q %q %d", m, p, q, s)
	}
	count, rest, code := checkHeaders(r.Rest())
	if code != abi.OK || count != 2 || len(rest) != 0 {
		t.Fatalf("headers block: %d %d %q", code, count, rest)
	}
	hs, _ := decodeHeaders(r.Rest(), nil, count)
	if !slices.Equal(hdrStrings(hs), []string{"A: 1", "B: "}) {
		t.Fatalf("headers = %q", hdrStrings(hs))
	}
}

func TestReleaseExchangeDropsHugeBuffers(t *testing.T) {
	t.Parallel()
	ex := AcquireExchange()
	if ex.replaceHeaders(headersBlock("A", "b")) != abi.OK {
		t.Fatal()
	}
	ex.bodyBuf = make([]byte, 2<<20)
	ReleaseExchange(ex)
	if ex.bodyBuf != nil || ex.Headers != nil || ex.Changed() != 0 {
		t.Fatal("release kept state")
	}
}

// Fuzz targets for the parsers of guest-supplied encodings.

func FuzzHeadersBlock(f *testing.F) {
	for _, seed := range [][]byte{
		nil, {0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff},
		headersBlock("A", "b"), headersBlock("X", "a\r\nb"), headersBlock("", ""),
		append(headersBlock("A", "b"), 1, 2, 3),
		append(abi.AppendU32(abi.AppendU32(nil, 1), 0xfffffffe), 'x'),
		append(abi.AppendU32(nil, 2), headersBlock("A", "b")[4:]...),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		count, rest, code := checkHeaders(b)
		if code != abi.OK {
			return
		}
		hs, rest2 := decodeHeaders(b, nil, count)
		if len(hs) != int(count) || !bytes.Equal(rest, rest2) {
			t.Fatal("decode disagrees with check")
		}
		for _, h := range hs {
			if !abi.ValidHeaderName(h.Name) || !abi.ValidHeaderValue(h.Value) ||
				bytes.ContainsAny(h.Value, "\r\n\x00") {
				t.Fatalf("invalid header passed: %q", h)
			}
		}
		if !bytes.Equal(b, orig) {
			t.Fatal("input modified")
		}
		ex := &Exchange{}
		if got := ex.replaceHeaders(b); (got == abi.OK) != (len(rest) == 0) {
			t.Fatalf("replaceHeaders = %d with %d trailing bytes", got, len(rest))
		}
	})
}

func FuzzEnd(f *testing.F) {
	f.Add(uint8(3), messagesBlock("a", "b"))
	f.Add(uint8(3), []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(8), append(abi.AppendU32(nil, 418), append(headersBlock("X", "y"), "body"...)...))
	f.Add(uint8(8), abi.AppendU32(nil, 99))
	f.Add(uint8(8), []byte{})
	f.Add(uint8(1), []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		ex := &Exchange{}
		var code int32
		if kind%2 == 0 {
			code = ex.endCustom(payload)
		} else {
			code = ex.endError(ErrorKind(1+kind%7), payload)
		}
		if code != abi.OK {
			return
		}
		o := ex.outcome()
		if o.Status < 100 || o.Status > 599 {
			t.Fatalf("status %d accepted", o.Status)
		}
		for _, h := range o.Headers {
			if bytes.ContainsAny(h.Value, "\r\n\x00") || !abi.ValidHeaderName(h.Name) {
				t.Fatalf("invalid header passed: %q", h)
			}
		}
		if len(o.Messages) > abi.MaxMessages {
			t.Fatal("too many messages")
		}
	})
}
