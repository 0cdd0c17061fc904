package server

import (
	"strings"
	"testing"
)

// TestTraceIDNamesRequestAndReachesDestination: the caller's BT-TRACE-ID names the request in
// the log line, is answered back, and is the one BT-* header a destination sees (BT-API-KEY
// is not).
func TestTraceIDNamesRequestAndReachesDestination(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	r := e.do("POST", "/proxy", e.adminKey, `{"x":1}`, "BT-PROXY-URL", dest.url+"/echo",
		"BT-TRACE-ID", "trace-proxy-1", "BT-PROXY-KEEP-ALIVE", "timeout=5").expect(t, 200)
	if got := r.header.Get("BT-TRACE-ID"); got != "trace-proxy-1" {
		t.Fatalf("answered BT-TRACE-ID %q", got)
	}
	h := dest.last(t).header
	if got := h.Get("BT-TRACE-ID"); got != "trace-proxy-1" {
		t.Fatalf("destination got BT-TRACE-ID %q", got)
	}
	for name := range h {
		if strings.HasPrefix(strings.ToUpper(name), "BT-") && !strings.EqualFold(name, "BT-TRACE-ID") {
			t.Fatalf("destination got %s", name)
		}
	}
	if !strings.Contains(e.logText(), `"request_id":"trace-proxy-1"`) {
		t.Fatal("the proxied request's log line is not named by its BT-TRACE-ID")
	}
}

// TestTraceIDOnAPIAnswers: an API request is named by BT-TRACE-ID, else X-Request-Id, else a
// new id; the name is answered in both headers. An id with a space or control character is
// not taken (it would break the log line).
func TestTraceIDOnAPIAnswers(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	cases := []struct {
		name string
		hdr  []string
		want string // "" = a generated id
	}{
		{"trace id", []string{"BT-TRACE-ID", "trace-api-1"}, "trace-api-1"},
		{"trace id wins over request id", []string{"BT-TRACE-ID", "trace-api-2", "X-Request-Id", "req-2"}, "trace-api-2"},
		{"request id alone", []string{"X-Request-Id", "req-3"}, "req-3"},
		{"unprintable trace id", []string{"BT-TRACE-ID", "a b"}, ""},
		{"too long trace id", []string{"BT-TRACE-ID", strings.Repeat("t", 129)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/tokens/nope-404", e.adminKey, nil, tc.hdr...).expect(t, 404)
			got, rid := r.header.Get("BT-TRACE-ID"), r.header.Get("X-Request-Id")
			if got != rid || got == "" {
				t.Fatalf("BT-TRACE-ID %q, X-Request-Id %q: want one id in both", got, rid)
			}
			if tc.want != "" && got != tc.want {
				t.Fatalf("named %q, want %q", got, tc.want)
			}
			if tc.want == "" && (len(got) != 24 || strings.Contains(got, " ")) {
				t.Fatalf("named %q, want a generated id", got)
			}
			if !strings.Contains(e.logText(), `"request_id":"`+got+`"`) {
				t.Fatalf("no log line names %q", got)
			}
		})
	}
}
