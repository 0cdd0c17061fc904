package server

import (
	_ "embed"
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// openAPIDoc is the OpenAPI 3.1 document of the public listener (openapi.json, checked by
// openapi_test.go against the routes and the handlers' JSON). It is shared and read-only: never
// modify it.
//
//go:embed openapi.json
var openAPIDoc []byte

// serveOpenAPI is GET /openapi.json, unauthenticated. The response body references openAPIDoc
// without copying it, which is safe because nothing writes to it.
func (s *Server) serveOpenAPI(c *edge.Call) error {
	c.RC.SetStatusCode(http.StatusOK)
	c.RC.SetContentType("application/json")
	c.RC.Response.SetBodyRaw(openAPIDoc)
	return nil
}
