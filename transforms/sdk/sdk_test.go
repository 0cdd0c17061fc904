//go:build !wasip1

package sdk

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// These tests run the SDK natively against the in-memory stand-in for the
// edge (host_other.go); the transforms package runs it for real in wazero.

func head(method, path, query string, status uint32, pairs ...string) []byte {
	b := abi.AppendBytes(nil, method)
	b = abi.AppendBytes(b, path)
	b = abi.AppendBytes(b, query)
	b = abi.AppendU32(b, status)
	b = abi.AppendU32(b, uint32(len(pairs)/2))
	for _, p := range pairs {
		b = abi.AppendBytes(b, p)
	}
	return b
}

func setup(t *testing.T, h []byte, body string) {
	t.Helper()
	fakeReset()
	fakeHost.head, fakeHost.body, fakeHost.response = h, []byte(body), false
	fakeHost.config, fakeHost.tokenize = nil, nil
	t.Cleanup(func() { requestHandler, responseHandler = nil, nil })
}

func decodeMessages(t *testing.T, payload []byte) []string {
	t.Helper()
	r := abi.NewReader(payload)
	n, _ := r.U32()
	var out []string
	for i := uint32(0); i < n; i++ {
		m, _ := r.Bytes()
		out = append(out, string(m))
	}
	if r.Failed() || len(r.Rest()) != 0 {
		t.Fatalf("malformed messages %x", payload)
	}
	return out
}

func TestKindsMatchTheABI(t *testing.T) {
	for k, want := range map[Kind]int{
		KindAuthentication: abi.KindAuthenticationError, KindAuthorization: abi.KindAuthorizationError,
		KindBadRequest: abi.KindBadRequestError, KindInvalidPaymentMethod: abi.KindInvalidPaymentMethodError,
		KindRateLimit: abi.KindRateLimitError, KindServiceUnavailable: abi.KindServiceUnavailableError,
		KindReactorRuntime: abi.KindReactorRuntimeError,
	} {
		if int(k) != want {
			t.Errorf("%s = %d, ABI says %d", k, k, want)
		}
	}
}

func TestHeader(t *testing.T) {
	h := Header{{"Content-Type", "a"}, {"X-A", "1"}, {"x-a", "2"}, {"B", "3"}}
	if h.Get("content-type") != "a" || h.Get("missing") != "" || !slices.Equal(h.Values("X-A"), []string{"1", "2"}) {
		t.Fatal("Get/Values")
	}
	h.Set("x-A", "new")
	if want := (Header{{"Content-Type", "a"}, {"X-A", "new"}, {"B", "3"}}); !slices.Equal(h, want) {
		t.Fatalf("Set = %v", h)
	}
	h.Add("B", "4")
	h.Del("b")
	h.Set("C", "5")
	if want := (Header{{"Content-Type", "a"}, {"X-A", "new"}, {"C", "5"}}); !slices.Equal(h, want) {
		t.Fatalf("Add/Del/Set = %v", h)
	}
}

func TestRequestContinueWritesOnlyChanges(t *testing.T) {
	tests := []struct {
		name    string
		handler func(r *Request) error
		writes  map[uint32]string
	}{
		{"untouched", func(r *Request) error { _ = r.Body(); return nil }, map[uint32]string{}},
		{"set same header value", func(r *Request) error { r.Header.Set("A", "1"); return nil }, map[uint32]string{}},
		{"path and query", func(r *Request) error { r.Path, r.Query = "/v2", "b=2"; return nil },
			map[uint32]string{abi.WhatPath: "/v2", abi.WhatQuery: "b=2"}},
		{"header and body", func(r *Request) error {
			r.Header.Set("B", "2")
			r.SetBody([]byte("new " + string(r.Body())))
			return nil
		}, map[uint32]string{abi.WhatHeaders: string(head("", "", "", 0, "A", "1", "B", "2")[16:]), abi.WhatBody: "new old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, head("POST", "/v1", "a=1", 0, "A", "1"), "old")
			HandleRequest(tt.handler)
			if got := runRequest(); got != abi.Continue {
				t.Fatalf("result = %d", got)
			}
			got := map[uint32]string{}
			for k, v := range fakeHost.writes {
				got[k] = string(v)
			}
			if len(got) != len(tt.writes) {
				t.Fatalf("writes = %v, want %v", got, tt.writes)
			}
			for k, v := range tt.writes {
				if got[k] != v {
					t.Fatalf("write %d = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestRequestSeesHead(t *testing.T) {
	setup(t, head("PUT", "/p", "q=1", 0, "A", "1", "a", "2"), "")
	var seen Request
	HandleRequest(func(r *Request) error { seen = *r; return nil })
	runRequest()
	if seen.Method != "PUT" || seen.Path != "/p" || seen.Query != "q=1" || !slices.Equal(seen.Header.Values("A"), []string{"1", "2"}) {
		t.Fatalf("request = %+v", seen)
	}
}

func TestEndings(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		kind     uint32
		messages []string
	}{
		{"standard error", AuthenticationError("X-Customer-Id header is required"), abi.KindAuthenticationError, []string{"X-Customer-Id header is required"}},
		{"several messages", BadRequestError("a", "b"), abi.KindBadRequestError, []string{"a", "b"}},
		{"wrapped standard error", errors.Join(errors.New("ctx"), RateLimitError("slow down")), abi.KindRateLimitError, []string{"slow down"}},
		{"every constructor", InvalidPaymentMethodError(), abi.KindInvalidPaymentMethodError, nil},
		{"plain error hides its text", errors.New("strconv: parsing \"4242424242424242x\""), abi.KindReactorRuntimeError, []string{"transform failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t, head("GET", "/", "", 0), "")
			HandleRequest(func(*Request) error { return tt.err })
			if got := runRequest(); got != abi.Ended {
				t.Fatalf("result = %d", got)
			}
			if fakeHost.endKind != tt.kind || !slices.Equal(decodeMessages(t, fakeHost.endPayload), tt.messages) {
				t.Fatalf("end = %d %q", fakeHost.endKind, fakeHost.endPayload)
			}
			if strings.Contains(string(fakeHost.endPayload), "4242") {
				t.Fatal("error text reached the caller")
			}
		})
	}
	for _, c := range []error{
		CustomResponse{Status: 418, Header: Header{{"X-Custom", "yes"}}, Body: []byte(`{"custom":"teapot"}`)},
		&CustomResponse{Status: 418, Header: Header{{"X-Custom", "yes"}}, Body: []byte(`{"custom":"teapot"}`)},
	} {
		setup(t, head("GET", "/", "", 0), "")
		HandleRequest(func(*Request) error { return c })
		if got := runRequest(); got != abi.Ended || fakeHost.endKind != abi.KindCustomResponse {
			t.Fatalf("custom %T: %d %d", c, got, fakeHost.endKind)
		}
		want := append(abi.AppendU32(nil, 418), head("", "", "", 0, "X-Custom", "yes")[16:]...)
		want = append(want, `{"custom":"teapot"}`...)
		if string(fakeHost.endPayload) != string(want) {
			t.Fatalf("payload = %q", fakeHost.endPayload)
		}
	}
	setup(t, head("GET", "/", "", 0), "")
	HandleRequest(func(*Request) error { return CustomResponse{Status: 42} })
	if runRequest() != abi.Ended || fakeHost.endKind != abi.KindReactorRuntimeError {
		t.Fatal("invalid custom status not turned into ReactorRuntimeError")
	}
}

func TestInvalidChangesBecomeReactorRuntimeError(t *testing.T) {
	for name, h := range map[string]func(*Request) error{
		"header injection": func(r *Request) error { r.Header.Set("X", "a\r\nb"); return nil },
		"bad path":         func(r *Request) error { r.Path = "/a b"; return nil },
		"bad query":        func(r *Request) error { r.Query = "a\n"; return nil },
	} {
		t.Run(name, func(t *testing.T) {
			setup(t, head("GET", "/", "", 0), "")
			HandleRequest(h)
			if runRequest() != abi.Ended || fakeHost.endKind != abi.KindReactorRuntimeError {
				t.Fatalf("end = %d", fakeHost.endKind)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	setup(t, head("", "", "", 200, "Content-Type", "application/json"), `{"a":1}`)
	fakeHost.response = true
	HandleResponse(func(r *Response) error {
		if r.Status != 200 || string(r.Body()) != `{"a":1}` {
			t.Errorf("response = %+v", r)
		}
		r.Status = 201
		r.SetBody([]byte("{}"))
		return nil
	})
	if runResponse() != abi.Continue || fakeHost.status != 201 || string(fakeHost.writes[abi.WhatBody]) != "{}" {
		t.Fatalf("status %d writes %v", fakeHost.status, fakeHost.writes)
	}
	if runRequest() != abi.Continue {
		t.Fatal("phase without a handler must continue")
	}
}

func TestConfigAndTokenize(t *testing.T) {
	setup(t, head("GET", "/", "", 0), "")
	long := strings.Repeat("k", 1000)
	fakeHost.config = map[string]string{"A": "1", "EMPTY": "", "LONG": long}
	if Config("A") != "1" || Config("LONG") != long || Config("MISSING") != "" {
		t.Fatal("Config")
	}
	if v, ok := LookupConfig("EMPTY"); !ok || v != "" {
		t.Fatal("LookupConfig of an empty value")
	}
	if _, ok := LookupConfig("MISSING"); ok {
		t.Fatal("LookupConfig of a missing value")
	}
	if _, err := Tokenize("token", []byte(`"x"`)); err == nil {
		t.Fatal("Tokenize without a vault succeeded")
	}
	longID := strings.Repeat("i", 300)
	fakeHost.tokenize = func(typ string, data []byte) (string, error) {
		switch typ {
		case "long":
			return longID, nil
		case "bad":
			return "", errors.New("invalid card number")
		}
		return "tok_1", nil
	}
	if id, err := Tokenize("token", []byte(`"x"`)); err != nil || id != "tok_1" {
		t.Fatal(id, err)
	}
	if id, err := Tokenize("long", nil); err != nil || id != longID {
		t.Fatal("long id", err)
	}
	if _, err := Tokenize("bad", nil); err == nil || !strings.Contains(err.Error(), "invalid card number") {
		t.Fatal(err)
	}
	Log("hello")
	if !slices.Contains(fakeHost.logs, "hello") {
		t.Fatal("Log")
	}
}

func TestMalformedHeadFails(t *testing.T) {
	for _, h := range [][]byte{nil, {1, 2, 3}, head("GET", "/", "", 0)[:10], append(head("GET", "/", "", 0)[:len(head("GET", "/", "", 0))-4], 0xff, 0xff, 0xff, 0xff)} {
		setup(t, h, "")
		HandleRequest(func(*Request) error { t.Fatal("handler ran on a malformed head"); return nil })
		if runRequest() != abi.Ended || fakeHost.endKind != abi.KindReactorRuntimeError {
			t.Fatalf("head %x: end %d", h, fakeHost.endKind)
		}
	}
}

func FuzzReadHead(f *testing.F) {
	f.Add(head("GET", "/", "a=1", 0, "A", "b"))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(append(head("GET", "/", "", 0)[:len(head("GET", "/", "", 0))-4], 0xff, 0xff, 0xff, 0x7f))
	f.Fuzz(func(t *testing.T, b []byte) {
		fakeHost.head = b
		_, _, _, _, h, ok := readHead()
		if !ok && h != nil {
			t.Fatal("headers returned on failure")
		}
	})
}
