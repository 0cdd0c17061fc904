// Package dest is the destination every Sluice benchmark forwards to: a fasthttp handler that
// answers like a payment processor, cheaply, so that the proxy in front of it dominates the cost.
package dest

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Response is the body of every answer except echoes.
var Response = []byte(`{"id":"ch_3MmlLrLkdIwHu7ix0snN0B15","object":"charge","status":"succeeded"}`)

// EchoSuffix: a request whose path ends with it is answered with the request as received (head
// and body), so a harness can check what the proxy forwarded. Benchmarks never use it under load.
const EchoSuffix = "/echo"

// Handler answers every request with 200 and Response (JSON), or an echo (see EchoSuffix).
// It keeps no reference to ctx.
func Handler(ctx *fasthttp.RequestCtx) {
	if bytes.HasSuffix(ctx.Path(), []byte(EchoSuffix)) {
		ctx.SetContentType("text/plain")
		ctx.Write(ctx.Request.Header.Header())
		ctx.Write(ctx.Request.Body())
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(Response)
}

// Server returns the fasthttp server that serves Handler, with keep-alive and defaults otherwise.
func Server() *fasthttp.Server {
	return &fasthttp.Server{Handler: Handler, Name: "dest", NoDefaultServerHeader: true, ReadBufferSize: 16 << 10, Logger: quiet{}}
}

// quiet drops fasthttp's connection messages (a client closing a keep-alive connection is normal).
type quiet struct{}

func (quiet) Printf(string, ...any) {}
