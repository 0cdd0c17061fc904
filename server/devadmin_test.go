package server

import "testing"

// TestDevModeDeletedApplicationKeyRefused: with --dev and a generated admin key, deleting an
// application empties the principal cache the router authenticates with, so its key is refused
// on the next request.
func TestDevModeDeletedApplicationKeyRefused(t *testing.T) {
	t.Parallel()
	e := startEdge(t, func(c *Config) { c.AdminKey, c.Dev = "", true })
	e.adminKey = e.srv.cfg.AdminKey
	if e.adminKey == "" || e.adminKey == testAdminKey {
		t.Fatalf("no generated dev admin key: %q", e.adminKey)
	}
	key, id := e.newApp("private", "token:read")
	const missing = "/tokens/00000000-0000-4000-8000-000000000000"
	e.do("GET", missing, key, nil).expectProblem(t, 404, false) // the principal is cached
	e.do("DELETE", "/applications/"+id, e.adminKey, nil).expect(t, 204)
	e.do("GET", missing, key, nil).expectProblem(t, 401, false)
}
