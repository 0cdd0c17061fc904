package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/transforms"
)

// guestDestination is a TLS server on 127.0.0.1 that records what it got.
type guestDestination struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []*http.Request
	bodies []string
}

func startGuestDestination(t *testing.T) *guestDestination {
	d := &guestDestination{}
	d.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.got, d.bodies = append(d.got, r), append(d.bodies, string(b))
		d.mu.Unlock()
		w.Header().Set("Connection", "X-Secret-Hop")
		w.Header().Set("X-Secret-Hop", "1")
		w.Header().Set("X-Answer", "yes")
		w.Write([]byte("answer"))
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *guestDestination) requests() ([]*http.Request, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*http.Request(nil), d.got...), append([]string(nil), d.bodies...)
}

func guestDoer(d *guestDestination, policy egress.Policy) *GuestHTTP {
	roots := x509.NewCertPool()
	roots.AddCert(d.srv.Certificate())
	dialer := &egress.Dialer{Policy: policy, Timeout: 5 * time.Second}
	return &GuestHTTP{Policy: policy, Timeout: 5 * time.Second, Metrics: obs.NewGuestHTTP(obs.NewMetrics()),
		Client: &fasthttp.Client{DialTimeout: dialer.DialTimeout, TLSConfig: &tls.Config{RootCAs: roots}, StreamResponseBody: true, DisablePathNormalizing: true}} // as the shell builds it
}

func guestCall(url string, body string, hdr ...string) *transforms.GuestRequest {
	r := &transforms.GuestRequest{Method: "POST", URL: url, Body: []byte(body), MaxResponseBytes: 1 << 20}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header = append(r.Header, transforms.Header{Name: []byte(hdr[i]), Value: []byte(hdr[i+1])})
	}
	return r
}

// TestGuestHTTPCannotReframeOrLeakThroughHeaders: a guest's Content-Length, Transfer-Encoding,
// Host, Connection and BT-* headers never reach the destination (no request smuggling, no
// other virtual host, no edge credentials); the destination's hop-by-hop headers never reach
// the guest.
func TestGuestHTTPCannotReframeOrLeakThroughHeaders(t *testing.T) {
	d := startGuestDestination(t)
	g := guestDoer(d, egress.Policy{AllowPrivate: true})
	resp, err := g.Do(context.Background(), guestCall(d.srv.URL+"/pay/a%2Fb?x=1&y=%2F", "hello world",
		"Content-Length", "1", "Transfer-Encoding", "chunked", "Host", "other.example", "Connection", "X-Ok",
		"BT-API-KEY", "key_secret", "X-Ok", "1"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.Status != 200 || string(body) != "answer" {
		t.Fatalf("answer %d %q", resp.Status, body)
	}
	for _, h := range resp.Header {
		if strings.EqualFold(string(h.Name), "X-Secret-Hop") || strings.EqualFold(string(h.Name), "Connection") {
			t.Errorf("hop-by-hop response header %s reached the guest", h.Name)
		}
	}
	reqs, bodies := d.requests()
	if len(reqs) != 1 {
		t.Fatalf("the destination got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.URL.RawPath != "/pay/a%2Fb" || r.URL.RawQuery != "x=1&y=%2F" {
		t.Fatalf("destination got path %q query %q", r.URL.RawPath, r.URL.RawQuery)
	}
	if bodies[0] != "hello world" || r.Host != strings.TrimPrefix(d.srv.URL, "https://") ||
		r.Header.Get("Bt-Api-Key") != "" || r.Header.Get("X-Ok") != "1" || len(r.TransferEncoding) != 0 {
		t.Fatalf("destination got host %q headers %v body %q", r.Host, r.Header, bodies[0])
	}
}

// TestGuestHTTPPolicyRefusesBeforeDialing: under the strict policy an IP-literal, a metadata
// address or plain http is refused with the policy's reason, and nothing is sent.
func TestGuestHTTPPolicyRefusesBeforeDialing(t *testing.T) {
	d := startGuestDestination(t)
	strict := guestDoer(d, egress.Policy{})
	private := guestDoer(d, egress.Policy{AllowPrivate: true})
	for _, c := range []struct {
		name string
		g    *GuestHTTP
		url  string
	}{
		{"ip literal", strict, d.srv.URL + "/x"},
		{"metadata", private, "https://169.254.169.254/latest/meta-data"},
		{"plain http", private, "http://" + strings.TrimPrefix(d.srv.URL, "https://") + "/x?secret=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.g.Do(context.Background(), guestCall(c.url, "{}"))
			if err == nil || !strings.Contains(err.Error(), "not allowed") || strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %v", err)
			}
		})
	}
	if reqs, _ := d.requests(); len(reqs) != 0 {
		t.Fatalf("the destination got %d requests", len(reqs))
	}
}

// TestGuestHTTPStopsAtTheGuestDeadline: a destination that never answers is given up on at the
// deadline of the context (the guest's), not at the destination timeout.
func TestGuestHTTPStopsAtTheGuestDeadline(t *testing.T) {
	hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices when the edge hangs up
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	defer hang.Close()
	g := guestDoer(&guestDestination{srv: hang}, egress.Policy{AllowPrivate: true})
	g.Timeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := g.Do(ctx, guestCall(hang.URL, "{}"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errGuestTimeout) {
			t.Fatalf("error %v, want the timeout", err)
		}
	case <-time.After(30 * time.Second): // a generous bound: the deadline is 200 ms
		t.Fatal("the request outlived the guest's deadline")
	}
}
