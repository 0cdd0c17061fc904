package passthrough

import (
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sluice-edge/sluice/bench/internal/dest"
)

// chain serves dest behind a Proxy, both on in-memory listeners, and returns a client of the proxy.
func chain(t *testing.T, upstreamUp bool) *fasthttp.HostClient {
	t.Helper()
	destLn := fasthttputil.NewInmemoryListener()
	if upstreamUp {
		ds := dest.Server()
		go ds.Serve(destLn)
		t.Cleanup(func() { ds.Shutdown() })
	} else {
		destLn.Close()
	}
	p := New("dest.test:80", func(string) (net.Conn, error) { return destLn.Dial() })
	proxyLn := fasthttputil.NewInmemoryListener()
	ps := p.Server()
	go ps.Serve(proxyLn)
	t.Cleanup(func() { ps.Shutdown() })
	return &fasthttp.HostClient{Addr: "proxy.test", Dial: func(string) (net.Conn, error) { return proxyLn.Dial() }}
}

func do(t *testing.T, c *fasthttp.HostClient, path, body string, hdr ...string) (int, string, *fasthttp.Response) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://proxy.test" + path)
	req.Header.SetMethod("POST")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.SetBodyString(body)
	if err := c.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), string(resp.Body()), resp
}

func TestPassthroughForwards(t *testing.T) {
	c := chain(t, true)
	tests := []struct {
		name, path, body string
		hdr              []string
		want             []string // substrings of the answer
		absent           []string
	}{
		{"plain", "/proxy/charge", `{"a":1}`, nil, []string{string(dest.Response)}, nil},
		{"echo keeps body and end-to-end headers", "/proxy/echo", `{"n":"{{ tok }}"}`,
			[]string{"X-Customer-Id", "c_1", "BT-API-KEY", "k"},
			[]string{`{"n":"{{ tok }}"}`, "X-Customer-Id: c_1", "Bt-Api-Key: k", "Host: dest.test:80"}, nil},
		{"hop-by-hop headers are removed", "/echo", "x",
			[]string{"Keep-Alive", "timeout=5", "Proxy-Authorization", "Basic eA==", "Upgrade", "h2c"},
			nil, []string{"Keep-Alive", "Proxy-Authorization", "Upgrade"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, c, tt.path, tt.body, tt.hdr...)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Fatalf("answer lacks %q:\n%s", w, body)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(body, a) {
					t.Fatalf("answer has %q:\n%s", a, body)
				}
			}
		})
	}
}

func TestPassthroughUpstreamDownIs502(t *testing.T) {
	c := chain(t, false)
	if status, body, _ := do(t, c, "/x", "x"); status != 502 || !strings.HasPrefix(body, "passthrough:") {
		t.Fatalf("status %d body %q", status, body)
	}
}
