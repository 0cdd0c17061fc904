package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/server/internal/egress"
)

// rawRequest sends raw bytes to the edge on a fresh connection and reads one answer.
func (e *testEdge) rawRequest(raw string) *http.Response {
	e.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(strings.NewReader(string(b)))
	return res
}

// TestRejectMalformedChunkedFraming: a caller's broken chunked framing is its own error (400),
// not the edge's (500 with an ERROR line), on the proxy and on the API.
func TestRejectMalformedChunkedFraming(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	frames := map[string]string{
		"bad size":      "zz\r\nabc\r\n0\r\n\r\n",
		"huge size":     "fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
		"no crlf":       "3\r\nabcX\r\n0\r\n\r\n",
		"negative size": "-3\r\nabc\r\n0\r\n\r\n",
	}
	for name, body := range frames {
		for _, target := range []string{"/proxy", "/tokens"} {
			t.Run(name+" "+target, func(t *testing.T) {
				res := e.rawRequest("POST " + target + " HTTP/1.1\r\nHost: x\r\nBT-API-KEY: " + e.adminKey +
					"\r\nBT-PROXY-URL: " + dest.url + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
				if res.StatusCode != 400 {
					b, _ := io.ReadAll(res.Body)
					t.Fatalf("status %d: %s", res.StatusCode, b)
				}
			})
		}
	}
	if logs := e.logText(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("malformed framing logged as an edge error:\n%s", logs)
	}
	if n := len(dest.requests()); n != 0 {
		t.Fatalf("%d requests with a broken body reached the destination", n)
	}
}

// TestRejectDestinationSwitchingProtocols: a destination's 101 Switching Protocols is not relayed
// to the caller (the edge relays no protocol switch): 502 proxy_error. An interim 1xx followed by
// the final answer gives the final answer.
func TestRejectDestinationSwitchingProtocols(t *testing.T) {
	t.Parallel()
	dest := faultyDestination(t, func(c *net.TCPConn) {
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
		time.Sleep(2 * time.Second) // holds the connection, as a switched protocol would
	})
	e := faultEdge(t)
	got := e.callProxy(dest)
	if got.status != 502 || !strings.Contains(string(got.body), "proxy_error") || got.header.Get("Upgrade") != "" {
		t.Fatalf("caller saw %d %v %q", got.status, got.header, got.body)
	}
	if l := e.requestLog(); l["error"] != "destination_status" {
		t.Fatalf("log line: %v", l)
	}

	interim := faultyDestination(t, func(c *net.TCPConn) {
		c.Write([]byte("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"))
	})
	r := e.do("POST", "/proxy", e.adminKey, "x", "BT-PROXY-URL", interim)
	if r.status != 200 || string(r.body) != "final" {
		t.Fatalf("interim answer: %d %q", r.status, r.body)
	}
}

// TestRejectPathEscapesBasePath: no spelling of a parent segment in the caller's path (..;,
// percent-encoded dots, encoded slashes and backslashes, double encoding) reaches the destination
// outside the base path: the request is refused with 400 and nothing is forwarded.
func TestRejectPathEscapesBasePath(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer dest.Close()
	e := faultEdge(t)
	base := dest.URL + "/api/v1"
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": base}).expect(t, 201).json(t)
	attacks := []string{
		"/proxy/..;/admin",
		"/proxy/users/..;/..;/admin",
		"/proxy/%2e%2e/admin",
		"/proxy/%2E%2E/admin",
		"/proxy/.%2e/admin",
		"/proxy/%2e./admin",
		"/proxy/..%2fadmin",
		"/proxy/..%2Fadmin",
		"/proxy/x/..%2f..%2fadmin",
		"/proxy/..%5cadmin",
		"/proxy/..\\admin",
		"/proxy/%252e%252e/admin",
		"/proxy/.;/admin",
		"/proxy/%2e%2e;x=1/admin",
	}
	for _, path := range attacks {
		for _, how := range []string{"ephemeral", "pre-configured"} {
			t.Run(how+" "+path, func(t *testing.T) {
				hdr := []string{"BT-PROXY-URL", base}
				if how == "pre-configured" {
					hdr = []string{"BT-PROXY-KEY", px["key"].(string)}
				}
				res := e.rawRequest("GET " + path + " HTTP/1.1\r\nHost: x\r\nBT-API-KEY: " + e.adminKey + "\r\n" + hdr[0] + ": " + hdr[1] + "\r\n\r\n")
				if res.StatusCode != 400 && res.StatusCode != 404 {
					t.Fatalf("status %d, destination got %q", res.StatusCode, got)
				}
			})
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Fatalf("forwarded: %q", got)
	}
	// Ordinary paths, dots inside names and encoded characters that are not separators pass.
	for path, want := range map[string]string{
		"/proxy/users/1":      "/api/v1/users/1",
		"/proxy/a..b/c.d":     "/api/v1/a..b/c.d",
		"/proxy/name%20x/%41": "/api/v1/name%20x/A", // fasthttp decodes what needs no escaping
	} {
		got = nil
		mu.Unlock()
		r := e.do("GET", strings.TrimPrefix(path, ""), e.adminKey, nil, "BT-PROXY-URL", base)
		mu.Lock()
		if r.status != 200 || len(got) != 1 || got[0] != want {
			t.Fatalf("%s: %d, destination got %q, want %q", path, r.status, got, want)
		}
	}
}

// TestRetryStaleDestinationConnection: the destination closes an idle pooled connection (as a
// keep-alive timeout does); the next request — a POST, which may not be sent twice — goes out on
// a new connection instead of failing with 502.
func TestRetryStaleDestinationConnection(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns, requests atomic.Int32
	closed := make(chan struct{}, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				requests.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(300 * time.Millisecond) // the destination's keep-alive timeout
				c.Close()
				waitCloseSeen(c)
				closed <- struct{}{}
			}()
		}
	}()
	e := faultEdge(t)
	dest := "http://" + ln.Addr().String()
	for i := range 3 {
		r := e.do("POST", "/proxy", e.adminKey, `{"n":1}`, "BT-PROXY-URL", dest)
		if r.status != 200 || string(r.body) != "ok" {
			t.Fatalf("request %d after an idle close: %d %s", i, r.status, r.body)
		}
		<-closed
	}
	if requests.Load() != 3 || conns.Load() != 3 {
		t.Fatalf("%d requests on %d connections; want 3 on 3", requests.Load(), conns.Load())
	}
}

// loopbackResolver resolves every name to 127.0.0.1.
type loopbackResolver struct{}

func (loopbackResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// TestFootprintBlockedDestinationNamesTargetHeader: a Footprint destination refused at dial time
// (its name resolves to loopback) names x-fp-proxy-target-url, the header the caller sent.
func TestFootprintBlockedDestinationNamesTargetHeader(t *testing.T) {
	t.Parallel()
	e := startEdge(t, func(c *Config) {
		c.DestinationDial = (&egress.Dialer{Resolver: loopbackResolver{}}).Dial
	})
	r := e.do("POST", "/vault_proxy/jit", e.adminKey, `{"a":1}`, "x-fp-proxy-target-url", "https://rebind.example.com/x")
	m := r.expectProblem(t, 400, true)
	errs, _ := m["errors"].(map[string]any)
	if _, ok := errs["x-fp-proxy-target-url"]; !ok || strings.Contains(string(r.body), "BT-PROXY-URL") {
		t.Fatalf("error does not name %s: %s", "x-fp-proxy-target-url", r.body)
	}
}

// TestRecheckStoredDestinationAfterFlagsRemoved: a proxy saved while --allow-http and
// --allow-private were on is refused once the edge runs without them; nothing is forwarded.
func TestRecheckStoredDestinationAfterFlagsRemoved(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer dest.Close()
	dir := t.TempDir()
	e := startEdge(t, func(c *Config) { c.DataDir, c.AllowHTTPDestinations, c.AllowPrivateDestinations = dir, true, true })
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": dest.URL + "/api", "require_auth": false}).expect(t, 201).json(t)
	key := px["key"].(string)
	e.do("GET", "/proxy/x", "", nil, "BT-PROXY-KEY", key).expect(t, 200)
	e.stop()
	hits.Store(0)

	// Private addresses still allowed, plain http no longer.
	e2 := startEdge(t, func(c *Config) { c.DataDir, c.AllowPrivateDestinations = dir, true })
	for _, k := range []string{"", e2.adminKey} {
		m := e2.do("GET", "/proxy/x", k, nil, "BT-PROXY-KEY", key).expectProblem(t, 400, true)
		if errs, _ := m["errors"].(map[string]any); errs["destination_url"] == nil {
			t.Fatalf("refusal does not name destination_url: %v", m)
		}
	}
	q := url.Values{"bt-proxy-key": {key}}
	e2.do("GET", "/proxy/x?"+q.Encode(), "", nil).expectProblem(t, 400, true)
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached a destination the policy now refuses", n)
	}
}

// TestFootprintUpstreamStatusOnEveryAnswer: x-footprint-proxy-upstream-status-code is on a
// passed-through answer too, not only on a 5xx turned into 502 (SPEC §9).
func TestFootprintUpstreamStatusOnEveryAnswer(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	for _, code := range []string{"200", "404"} {
		r := e.do("POST", "/vault_proxy/jit", e.adminKey, `{"a":1}`, "x-fp-proxy-target-url", dest.url+"/status/"+code)
		if r.status != atoi(code) || r.header.Get("x-footprint-proxy-upstream-status-code") != code {
			t.Fatalf("%s: %d %v", code, r.status, r.header)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
