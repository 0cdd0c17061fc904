package server

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestOpenAPIReactorResponsesMatchHandlers: what the reactor handlers answer, successes and
// errors, validates against the documented schemas.
func TestOpenAPIReactorResponsesMatchHandlers(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := startEdge(t, func(c *Config) { c.Transforms.CallTimeout = 200 * time.Millisecond })
	c := &responseChecker{t: t, doc: doc}
	k := e.adminKey
	echo := base64.StdEncoding.EncodeToString(testdataWasm(t, "reactecho"))
	_, appID := e.newApp("private", "token:use")
	r := c.check("POST", "/reactors", e.do("POST", "/reactors", k, map[string]any{"name": "echo", "code": echo,
		"configuration": map[string]string{"A": "b"}, "application": map[string]string{"id": appID}, "runtime": map[string]any{"image": "node22"}}).expect(t, 201))
	path := "/reactors/" + r["id"].(string)
	c.check("POST", "/reactors", e.do("POST", "/reactors", k, map[string]any{"name": "t", "code": base64.StdEncoding.EncodeToString(testdataWasm(t, "tiny"))}).expect(t, 422))
	c.check("POST", "/reactors", e.do("POST", "/reactors", k, map[string]any{"name": "t"}).expect(t, 400))
	c.check("GET", "/reactors", e.do("GET", "/reactors?size=1&page=1", k, nil).expect(t, 200))
	c.check("GET", "/reactors", e.do("GET", "/reactors?size=0", k, nil).expect(t, 400))
	c.check("GET", "/reactors/{id}", e.do("GET", path, k, nil).expect(t, 200))
	c.check("GET", "/reactors/{id}", e.do("GET", "/reactors/nope", k, nil).expect(t, 404))
	c.check("PUT", "/reactors/{id}", e.do("PUT", path, k, map[string]any{"name": "echo2", "code": r["code"]}).expect(t, 200))
	c.check("PATCH", "/reactors/{id}", e.do("PATCH", path, k, `{"configuration":{"A":null}}`, "Content-Type", "application/merge-patch+json").expect(t, 200))
	c.check("PATCH", "/reactors/{id}", e.do("PATCH", path, k, `{}`).expect(t, 415))
	c.check("POST", "/reactors/{id}/react", e.do("POST", path+"/react", k, map[string]any{"args": map[string]any{"raw": 1, "tokenize": "x"}}).expect(t, 200))
	c.check("POST", "/reactors/{id}/react", e.do("POST", path+"/react", k, map[string]any{"args": "{{ nope }}"}).expect(t, 400))
	c.check("POST", "/reactors/{id}/react", e.do("POST", path+"/react", k, map[string]any{"args": map[string]any{"other": 1}}).expect(t, 500))
	c.check("POST", "/reactors/{id}/react", e.do("POST", path+"/react", "", map[string]any{"args": 1}).expect(t, 401))
	c.check("DELETE", "/reactors/{id}", e.do("DELETE", path, k, nil).expect(t, 204))
	c.check("POST", "/reactors/{id}/react", e.do("POST", path+"/react", k, map[string]any{"args": 1}).expect(t, 404))
}
