package server

import (
	"github.com/valyala/fasthttp"
)

// WebAssembly transforms (SPEC §7) are run by package transforms. Until that is wired in,
// proxies that name one are refused at creation rather than run without it.
func (s *Server) validateWasmTransform(t *transform, field string) error {
	return invalid(field, "wasm transforms are not available yet")
}

func (s *Server) runWasmTransform(x *exchange, t *transform, m *message, req *fasthttp.Request, resp *fasthttp.Response) error {
	return transformFailed(m, "wasm transforms are not available yet")
}
