//go:build !wasip1

package sdk

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

func setupReact(t *testing.T, args string) {
	t.Helper()
	fakeReset()
	fakeHost.args, fakeHost.http, fakeHost.response = []byte(args), nil, false
	t.Cleanup(func() { reactHandler = nil })
}

func TestReactReadsArgsAndSetsResult(t *testing.T) {
	tests := []struct {
		name   string
		result *Result
		want   string // the result written; "" = none
	}{
		{"raw and tokenize", &Result{Raw: []byte(`{"status":201}`), Tokenize: []byte(`"4242"`)}, `{"raw":{"status":201},"tokenize":"4242"}`},
		{"raw only", &Result{Raw: []byte(`1`)}, `{"raw":1}`},
		{"tokenize only", &Result{Tokenize: []byte(`[1]`)}, `{"tokenize":[1]}`},
		{"empty result", &Result{}, `{}`},
		{"no result", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setupReact(t, `{"card":"4242"}`)
			var seen string
			HandleReact(func(args []byte) (*Result, error) { seen = string(args); return tt.result, nil })
			if got := runReact(); got != abi.Continue {
				t.Fatalf("result = %d, end %d %q", got, fakeHost.endKind, fakeHost.endPayload)
			}
			if seen != `{"card":"4242"}` {
				t.Fatalf("args = %q", seen)
			}
			if got, ok := fakeHost.writes[abi.WhatReact]; string(got) != tt.want || ok != (tt.want != "") {
				t.Fatalf("result written %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReactEndings(t *testing.T) {
	tests := []struct {
		name    string
		handler func([]byte) (*Result, error)
		kind    uint32
		message string
	}{
		{"standard error", func([]byte) (*Result, error) { return nil, InvalidPaymentMethodError("card declined") }, abi.KindInvalidPaymentMethodError, "card declined"},
		{"plain error hides its text", func([]byte) (*Result, error) { return nil, errors.New("4242424242424242") }, abi.KindReactorRuntimeError, "transform failed"},
		{"invalid raw", func([]byte) (*Result, error) { return &Result{Raw: []byte(`{`)}, nil }, abi.KindReactorRuntimeError, "not valid JSON"},
		{"custom response", func([]byte) (*Result, error) { return nil, CustomResponse{Status: 302} }, abi.KindCustomResponse, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setupReact(t, `{}`)
			HandleReact(tt.handler)
			if got := runReact(); got != abi.Ended || fakeHost.endKind != tt.kind {
				t.Fatalf("result %d, kind %d", got, fakeHost.endKind)
			}
			if tt.message != "" && !strings.Contains(strings.Join(decodeMessages(t, fakeHost.endPayload), ";"), tt.message) {
				t.Fatalf("payload %q", fakeHost.endPayload)
			}
			if strings.Contains(string(fakeHost.endPayload), "4242") {
				t.Fatal("error text reached the caller")
			}
		})
	}
	setupReact(t, `{}`)
	if runReact() != abi.Ended || fakeHost.endKind != abi.KindReactorRuntimeError {
		t.Fatal("a module with no react handler did not fail")
	}
}

func encodeResponse(status uint32, body string, pairs ...string) []byte {
	b := abi.AppendU32(abi.AppendU32(nil, status), uint32(len(pairs)/2))
	for _, p := range pairs {
		b = abi.AppendBytes(b, p)
	}
	return append(b, body...)
}

func TestDoSendsTheRequestAndReadsTheResponse(t *testing.T) {
	for _, size := range []int{10, 100 << 10} { // within the first buffer, and read again
		setupReact(t, `{}`)
		body := strings.Repeat("r", size)
		var got struct {
			method, url string
			h           Header
			body        []byte
		}
		fakeHost.http = func(method, url string, h Header, b []byte) ([]byte, int32, string) {
			got.method, got.url, got.h, got.body = method, url, h, bytes.Clone(b)
			return encodeResponse(201, body, "Content-Type", "application/json", "X-Id", "ch_1"), abi.OK, ""
		}
		resp, err := Do(&HTTPRequest{Method: "POST", URL: "https://psp.example/charges",
			Header: Header{{"Authorization", "Bearer k"}}, Body: []byte(`{"n":"4242"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if got.method != "POST" || got.url != "https://psp.example/charges" || got.h.Get("authorization") != "Bearer k" || string(got.body) != `{"n":"4242"}` {
			t.Fatalf("request sent = %+v", got)
		}
		if resp.Status != 201 || resp.Header.Get("x-id") != "ch_1" || string(resp.Body) != body {
			t.Fatalf("response = %d %v %d bytes", resp.Status, resp.Header, len(resp.Body))
		}
	}
}

func TestDoErrors(t *testing.T) {
	setupReact(t, `{}`)
	if _, err := Do(&HTTPRequest{Method: "GET", URL: "https://x/"}); !errors.Is(err, ErrHTTPUnavailable) {
		t.Fatalf("no egress: %v", err)
	}
	fakeHost.http = func(string, string, Header, []byte) ([]byte, int32, string) {
		return nil, abi.ErrFailed, "http_request failed: destination not allowed"
	}
	if _, err := Do(&HTTPRequest{Method: "GET", URL: "https://x/"}); err == nil || !strings.Contains(err.Error(), "destination not allowed") {
		t.Fatalf("refused: %v", err)
	}
	fakeHost.http = func(string, string, Header, []byte) ([]byte, int32, string) { return []byte{1, 0}, abi.OK, "" }
	if _, err := Do(&HTTPRequest{Method: "GET", URL: "https://x/"}); err == nil {
		t.Fatal("malformed response accepted")
	}
}
