// Package passthrough is the baseline Sluice's proxy is measured against: a plain fasthttp
// reverse proxy that forwards every request, unchanged but for hop-by-hop headers and Host, to
// one upstream over keep-alive connections, and passes the answer back. It reads nothing, so the
// difference between it and Sluice is what tokenization costs.
package passthrough

import (
	"time"

	"github.com/valyala/fasthttp"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 §7.6.1, removed in both directions.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}

// Proxy forwards to one upstream. It is safe for concurrent use.
type Proxy struct {
	client *fasthttp.HostClient
}

// New returns a Proxy to upstream ("host:port"). dial, if not nil, replaces the TCP dialer
// (in-memory benchmarks).
func New(upstream string, dial fasthttp.DialFunc) *Proxy {
	return &Proxy{client: &fasthttp.HostClient{
		Addr:                          upstream,
		Dial:                          dial,
		MaxConns:                      4096,
		MaxIdleConnDuration:           60 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		ReadBufferSize:                16 << 10,
	}}
}

// Handle forwards ctx's request and writes the upstream's answer into ctx (fasthttp owns ctx;
// nothing is kept after return). An unreachable upstream yields 502.
func (p *Proxy) Handle(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	req.SetHost(p.client.Addr)
	if err := p.client.Do(req, &ctx.Response); err != nil {
		ctx.Response.Reset()
		ctx.Error("passthrough: upstream unreachable", fasthttp.StatusBadGateway)
		return
	}
	for _, h := range hopHeaders {
		ctx.Response.Header.Del(h)
	}
}

// Server returns a fasthttp server running p.Handle.
func (p *Proxy) Server() *fasthttp.Server {
	return &fasthttp.Server{Handler: p.Handle, Name: "passthrough", NoDefaultServerHeader: true, ReadBufferSize: 16 << 10, Logger: quiet{}}
}

// quiet drops fasthttp's connection messages (a client closing a keep-alive connection is normal).
type quiet struct{}

func (quiet) Printf(string, ...any) {}
