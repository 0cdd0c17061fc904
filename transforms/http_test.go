package transforms

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sluice.http_request through a doer built on net/http, as the server
// builds one on its egress, to real TLS destinations on 127.0.0.1.

// netDoer sends guests' requests with an http.Client. It refuses hosts
// not in allow (the destination policy), and counts the body bytes the
// engine reads.
type netDoer struct {
	client    *http.Client
	allow     map[string]bool
	calls     atomic.Int32
	bodyBytes atomic.Int64
}

func newNetDoer(srv *httptest.Server) *netDoer {
	u, _ := url.Parse(srv.URL)
	return &netDoer{client: srv.Client(), allow: map[string]bool{u.Host: true}}
}

var _ HTTPDoer = (*netDoer)(nil)

func (d *netDoer) Do(ctx context.Context, r *GuestRequest) (*GuestResponse, error) {
	d.calls.Add(1)
	u, err := url.Parse(r.URL)
	if err != nil || !d.allow[u.Host] {
		return nil, errors.New("destination not allowed")
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	for _, h := range r.Header {
		req.Header.Add(string(h.Name), string(h.Value))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	var hs []Header
	for name, values := range resp.Header {
		for _, v := range values {
			hs = append(hs, Header{Name: []byte(name), Value: []byte(v)})
		}
	}
	body := &countingReader{ReadCloser: resp.Body, n: &d.bodyBytes}
	return &GuestResponse{Status: resp.StatusCode, Header: hs, ContentLength: resp.ContentLength, Body: body}, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// reactWithURL runs httploop (as a reactor) against url and returns its
// outcome: it sends GET url until a call fails.
func reactWithURL(t *testing.T, e *Engine, url string) (ReactOutcome, error) {
	t.Helper()
	id := compile(t, e, testdata(t, "httploop"))
	return e.OnReact(context.Background(), id, &ReactExchange{Config: map[string]string{"url": url}})
}

// wantEndedWith checks that a guest ended with ReactorRuntimeError whose
// message contains reason.
func wantEndedWith(t *testing.T, o ReactOutcome, err error, reason string) {
	t.Helper()
	if err != nil || !o.Ended || o.Kind != ReactorRuntimeError || len(o.Messages) != 1 ||
		!strings.Contains(o.Messages[0], reason) {
		t.Fatalf("outcome %+v, err %v; want ReactorRuntimeError %q", o, err, reason)
	}
}

func TestHTTPRequestOverThePerCallCapIsRefused(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	doer := newNetDoer(srv)
	e := newEngine(t, Config{HTTPDoer: doer, MaxHTTPRequests: 3})
	o, err := reactWithURL(t, e, srv.URL+"/ping")
	wantEndedWith(t, o, err, "over the limit of 3 requests per call")
	if hits.Load() != 3 || doer.calls.Load() != 3 {
		t.Fatalf("destination hits %d, doer calls %d; want 3", hits.Load(), doer.calls.Load())
	}
	// The count is per call: the next call gets its 3 again.
	o, err = reactWithURL(t, e, srv.URL+"/ping")
	wantEndedWith(t, o, err, "over the limit of 3 requests per call")
	if hits.Load() != 6 {
		t.Fatalf("destination hits %d after two calls", hits.Load())
	}
	assertReactorWorks(t, e)
}

func TestHTTPRequestToBlockedDestinationFailsAlone(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	doer := newNetDoer(srv)
	e := newEngine(t, Config{HTTPDoer: doer})
	for _, u := range []string{"https://169.254.169.254/latest/meta-data/", "https://localhost:1/"} {
		o, err := reactWithURL(t, e, u)
		wantEndedWith(t, o, err, "http_request failed: destination not allowed")
	}
	if hits.Load() != 0 {
		t.Fatal("the destination was reached")
	}
	assertReactorWorks(t, e)
}

func TestHTTPRequestWithoutDoerIsNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	o, err := reactWithURL(t, e, "https://127.0.0.1:1/")
	wantEndedWith(t, o, err, "http_request is not available here")
}

func TestRejectOversizeResponseFromDestination(t *testing.T) {
	t.Parallel()
	const limit = 4096
	big := strings.Repeat("x", 1<<20)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" { // no Content-Length: the engine stops reading at limit + 1
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", "1048576")
		}
		io.WriteString(w, big)
	}))
	defer srv.Close()
	tests := []struct {
		path     string
		maxRead  int64
		readWhat string
	}{
		{"/length", 0, "nothing: the Content-Length is over the limit"},
		{"/chunked", limit + 1, "at most the limit + 1"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			doer := newNetDoer(srv)
			e := newEngine(t, Config{HTTPDoer: doer, MaxHTTPResponseBytes: limit})
			o, err := reactWithURL(t, e, srv.URL+tt.path)
			wantEndedWith(t, o, err, "response body over the limit of 4096 bytes")
			if n := doer.bodyBytes.Load(); n > tt.maxRead {
				t.Fatalf("engine read %d body bytes, want %s", n, tt.readWhat)
			}
			assertReactorWorks(t, e)
		})
	}
}

// A destination that never answers: the guest's deadline ends the wait in
// the host, the call fails as timed out, the destination sees the request
// canceled, and the engine serves the next call.
func TestHTTPRequestWaitCountsAgainstTheDeadline(t *testing.T) {
	t.Parallel()
	canceled := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			canceled <- struct{}{}
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	e := newEngine(t, Config{HTTPDoer: newNetDoer(srv), CallTimeout: 200 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := reactWithURL(t, e, srv.URL+"/hang")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second): // generous: the bound under test is 200 ms
		t.Fatal("the call outlived its deadline while the host waited")
	}
	select {
	case <-canceled:
	case <-time.After(30 * time.Second):
		t.Fatal("the destination never saw the request canceled")
	}
	assertReactorWorks(t, e)
}

// Transforms have http_request too.
func TestTransformCallsHTTPRequest(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	e := newEngine(t, Config{HTTPDoer: newNetDoer(srv), MaxHTTPRequests: 2})
	id := compile(t, e, testdata(t, "httploop"))
	o, err := e.OnRequest(context.Background(), id, &Exchange{Config: map[string]string{"url": srv.URL}})
	if err != nil || !o.Ended || o.Kind != ReactorRuntimeError || !strings.Contains(o.Messages[0], "limit of 2 requests") {
		t.Fatalf("%+v %v", o, err)
	}
	if hits.Load() != 2 {
		t.Fatalf("hits = %d", hits.Load())
	}
}

// A request the engine can tell is wrong never reaches the doer.
func TestRejectInvalidGuestHTTPRequest(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	doer := newNetDoer(srv)
	e := newEngine(t, Config{HTTPDoer: doer})
	tests := []struct{ name, url, reason string }{
		{"file scheme", "file:///etc/passwd", "invalid url"},
		{"no host", "https:///path", "invalid url"},
		{"relative", "//127.0.0.1/x", "invalid url"},
		{"space", srv.URL + "/a b", "invalid url"},
		{"request line injection", srv.URL + "/\r\nHost: evil", "invalid url"},
		{"over the url cap", srv.URL + "/" + strings.Repeat("a", 8<<10), "url over the size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := reactWithURL(t, e, tt.url)
			wantEndedWith(t, o, err, "http_request refused: "+tt.reason)
		})
	}
	if n := doer.calls.Load(); n != 0 {
		t.Fatalf("the doer was asked %d times", n)
	}
}

// A guest that spends its time in answered http_request calls, one after
// the other, is stopped at its deadline like a guest looping in wasm.
func TestHTTPRequestLoopIsStoppedByDeadline(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(5 * time.Millisecond) // a slow destination: the guest waits in the host
	}))
	defer srv.Close()
	const maxRequests = 100_000
	e := newEngine(t, Config{HTTPDoer: newNetDoer(srv), CallTimeout: time.Second, MaxHTTPRequests: maxRequests})
	_, err := reactWithURL(t, e, srv.URL+"/slow")
	if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if n := hits.Load(); n == 0 || n >= maxRequests {
		t.Fatalf("destination hits = %d", n)
	}
	assertReactorWorks(t, e)
}

type ctxKey struct{}

// recordingDoer records what its context carried, then refuses.
type recordingDoer struct {
	value    any
	deadline time.Time
	req      *GuestRequest
}

func (d *recordingDoer) Do(ctx context.Context, r *GuestRequest) (*GuestResponse, error) {
	d.value, d.req = ctx.Value(ctxKey{}), r
	d.deadline, _ = ctx.Deadline()
	return nil, errors.New("recorded")
}

// The doer's context carries the values of the caller's (the server's
// metrics and log fields) and ends by the guest's deadline.
func TestHTTPDoerGetsCallerValuesAndTheGuestDeadline(t *testing.T) {
	t.Parallel()
	d := &recordingDoer{}
	const timeout = 10 * time.Second
	e := newEngine(t, Config{HTTPDoer: d, CallTimeout: timeout})
	id := compile(t, e, testdata(t, "httploop"))
	ctx := context.WithValue(context.Background(), ctxKey{}, "reactor r_1")
	before := time.Now()
	o, err := e.OnReact(ctx, id, &ReactExchange{Config: map[string]string{"url": "https://psp.example/v1?x=1"}})
	after := time.Now()
	wantEndedWith(t, o, err, "http_request failed: recorded")
	if d.value != "reactor r_1" {
		t.Fatalf("context value = %v", d.value)
	}
	if d.deadline.Before(before.Add(timeout)) || d.deadline.After(after.Add(timeout)) {
		t.Fatalf("doer deadline %v, want the guest's: %v after the call started", d.deadline, timeout)
	}
	if d.req.Method != "GET" || d.req.URL != "https://psp.example/v1?x=1" || len(d.req.Header) != 0 ||
		len(d.req.Body) != 0 || d.req.MaxResponseBytes != DefaultMaxBodyBytes {
		t.Fatalf("request = %+v", d.req)
	}
}
