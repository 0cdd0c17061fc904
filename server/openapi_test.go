package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/proxy"
)

// The OpenAPI document (openapi.json) is checked four ways: it is a valid OpenAPI 3.1 document;
// it and the router agree on every (method, path), both ways; it names every endpoint of the SPEC;
// and what the handlers really answer validates against the documented schemas, with no member
// the document does not declare.

// loadOpenAPI parses the embedded document (no external references allowed).
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	doc, err := l.LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	return doc
}

// docOp is one documented operation.
type docOp struct {
	method, path string
	op           *openapi3.Operation
}

// documentedOperations lists every operation of doc, sorted by path then method.
func documentedOperations(doc *openapi3.T) []docOp {
	var out []docOp
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, docOp{method: strings.ToUpper(method), path: path, op: op})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	return out
}

func TestOpenAPIDocumentIsValid31(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	// Validate switches to JSON Schema 2020-12 for a 3.1 document by itself; examples are
	// validated against their schemas too.
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 document: %v", err)
	}
	if !json.Valid(openAPIDoc) {
		t.Fatal("openapi.json is not JSON")
	}
	// kin-openapi validates media-type examples but not the JSON Schema "examples" keyword.
	for name, ref := range doc.Components.Schemas {
		for i, ex := range ref.Value.Examples {
			if err := ref.Value.VisitJSON(ex, openapi3.EnableJSONSchema2020(), openapi3.EnableFormatValidation()); err != nil {
				t.Errorf("example %d of schema %s does not match it: %v", i, name, err)
			}
		}
	}

	ids := map[string]string{}
	for _, o := range documentedOperations(doc) {
		where := o.method + " " + o.path
		t.Run(where, func(t *testing.T) {
			if o.op.OperationID == "" || o.op.Summary == "" || len(o.op.Tags) != 1 {
				t.Errorf("needs an operationId, a summary and one tag")
			}
			if prev, dup := ids[o.op.OperationID]; dup {
				t.Errorf("operationId %q also used by %s", o.op.OperationID, prev)
			}
			ids[o.op.OperationID] = where
			var success bool
			for code := range o.op.Responses.Map() {
				success = success || code == "default" || strings.HasPrefix(code, "2")
			}
			if !success {
				t.Errorf("documents no success response")
			}
			if o.path == "/openapi.json" {
				if o.op.Security == nil || len(*o.op.Security) != 0 {
					t.Errorf("/openapi.json must be documented as unauthenticated (security: [])")
				}
				return
			}
			if o.op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("documents no 401")
			}
			if o.op.Responses.Status(http.StatusInternalServerError) == nil {
				t.Errorf("documents no 500")
			}
			// SPEC §2: errors are wrapped in proxy_error exactly on the proxy routes.
			wrapped := o.path == "/proxy" || strings.HasPrefix(o.path, "/proxy/") || strings.HasPrefix(o.path, "/vault_proxy/")
			for code, r := range o.op.Responses.Map() {
				if n, _ := strconv.Atoi(code); n < 400 {
					continue
				}
				mt := r.Value.Content.Get("application/problem+json")
				if mt == nil || mt.Schema == nil {
					t.Errorf("error %s is not documented as application/problem+json", code)
					continue
				}
				if strings.HasSuffix(mt.Schema.Ref, "/ReactorProblem") && strings.HasSuffix(o.path, "/react") {
					continue // a reactor's failures and standard errors are wrapped, the edge's own are not
				}
				if got := strings.HasSuffix(mt.Schema.Ref, "/ProxyError"); got != wrapped {
					t.Errorf("error %s: wrapped in proxy_error = %v, want %v", code, got, wrapped)
				}
			}
			if strings.HasPrefix(o.path, "/vault_proxy/") && !securityNames(o.op)["FootprintSecretKey"] {
				t.Errorf("a Footprint route must accept X-Footprint-Secret-Key")
			}
			// An operation open to any valid key says so with x-any-valid-key and no permissions.
			if perms, _ := o.op.Extensions["x-permissions"].([]any); len(perms) == 0 && o.op.Extensions["x-any-valid-key"] != true {
				t.Errorf("needs x-permissions (or x-any-valid-key: true)")
			} else {
				for _, p := range perms {
					if _, ok := edge.PermNames[fmt.Sprint(p)]; !ok {
						t.Errorf("x-permissions names unknown permission %v", p)
					}
				}
			}
		})
	}

	if s := doc.Components.SecuritySchemes["BTApiKey"]; s == nil || s.Value.Type != "apiKey" || s.Value.In != "header" || s.Value.Name != "BT-API-KEY" {
		t.Error("security scheme BTApiKey must be an apiKey in header BT-API-KEY")
	}
	if s := doc.Components.SecuritySchemes["FootprintSecretKey"]; s == nil || s.Value.Type != "apiKey" || s.Value.In != "header" || s.Value.Name != "X-Footprint-Secret-Key" {
		t.Error("security scheme FootprintSecretKey must be an apiKey in header X-Footprint-Secret-Key")
	}
	for _, admin := range []string{"/healthz", "/readyz", "/metrics"} {
		if doc.Paths.Value(admin) != nil {
			t.Errorf("%s is on the admin listener, not the public one: leave it out of the document", admin)
		}
	}
}

// securityNames is the set of security schemes an operation accepts.
func securityNames(op *openapi3.Operation) map[string]bool {
	out := map[string]bool{}
	if op.Security != nil {
		for _, req := range *op.Security {
			for name := range req {
				out[name] = true
			}
		}
	}
	return out
}

// specEndpoints are the endpoints SPEC.md names; the document must keep every one.
var specEndpoints = []string{
	"POST /applications", "GET /applications", "GET /applications/{id}", "PUT /applications/{id}", "PATCH /applications/{id}", "DELETE /applications/{id}",
	"POST /tokens", "GET /tokens/{id}", "PATCH /tokens/{id}", "DELETE /tokens/{id}",
	"POST /proxy", "GET /proxy", "PUT /proxy", "PATCH /proxy", "DELETE /proxy",
	"POST /proxy/{path}", "GET /proxy/{path}", "PUT /proxy/{path}", "PATCH /proxy/{path}", "DELETE /proxy/{path}",
	"POST /proxies", "GET /proxies", "GET /proxies/{id}", "PUT /proxies/{id}", "PATCH /proxies/{id}", "DELETE /proxies/{id}",
	"POST /keys", "GET /keys", "GET /keys/{id}", "DELETE /keys/{id}",
	"POST /transforms", "GET /transforms", "GET /transforms/{id}", "DELETE /transforms/{id}",
	"POST /reactors", "GET /reactors", "GET /reactors/{id}", "PUT /reactors/{id}", "PATCH /reactors/{id}",
	"DELETE /reactors/{id}", "POST /reactors/{id}/react",
	"GET /logs", "GET /logs/entity-types",
	"GET /applications/key", "POST /applications/{id}/keys", "GET /applications/{id}/keys",
	"GET /applications/{id}/keys/{keyId}", "DELETE /applications/{id}/keys/{keyId}", "GET /permissions",
	"POST /vault_proxy/jit", "POST /vault_proxy/reflect", "POST /vault_proxy/{id}",
	"GET /openapi.json",
	"GET /v2/tokens", "POST /v2/tokens/search",
	"POST /tokenize", "POST /detokenize",
}

func TestOpenAPIDocumentsEverySpecEndpoint(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for _, o := range documentedOperations(doc) {
		documented[o.method+" "+o.path] = true
	}
	for _, want := range specEndpoints {
		if !documented[want] {
			t.Errorf("SPEC endpoint %s is not documented", want)
		}
		delete(documented, want)
	}
	for extra := range documented {
		t.Errorf("documented operation %s is not in the SPEC list of this test (add it there)", extra)
	}
	// The merge-patch Content-Type of PATCH /proxies/{id} is part of the contract.
	if rb := doc.Paths.Value("/proxies/{id}").Patch.RequestBody.Value; rb.Content.Get("application/merge-patch+json") == nil || len(rb.Content) != 1 {
		t.Error("PATCH /proxies/{id} must take exactly application/merge-patch+json")
	}
	if rb := doc.Paths.Value("/transforms").Post.RequestBody.Value; rb.Content["application/wasm"] == nil {
		t.Error("POST /transforms must take application/wasm")
	}
}

// TestOpenAPIDocumentsEveryRoute: every (method, pattern) of the routes table is documented
// under the same pattern.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for _, rt := range routes {
		item := doc.Paths.Value(rt.pattern)
		if item == nil || item.GetOperation(rt.method) == nil {
			t.Errorf("route %s %s is served but not documented", rt.method, rt.pattern)
		}
	}
}

// inRoutesTable reports whether the routes table has exactly this method and pattern.
func inRoutesTable(method, pattern string) bool {
	for _, rt := range routes {
		if rt.method == method && rt.pattern == pattern {
			return true
		}
	}
	return false
}

// concretePath fills a documented path's parameters with values a probe can send.
func concretePath(pattern, proxyID string) string {
	switch pattern {
	case "/vault_proxy/{id}":
		return "/vault_proxy/" + proxyID // an id that exists, so only a missing route can 404
	case "/transforms/{id}":
		return "/transforms/sha256:" + strings.Repeat("0", 64)
	}
	p := strings.ReplaceAll(pattern, "{path}", "a/b")
	return strings.ReplaceAll(p, "{id}", "probe-id")
}

// unknownRoute reports whether r is the router's answer to a path or method it does not serve:
// 405, or the plain (unwrapped) 404 whose detail is edge.ErrNotFound's. Resources that are not found
// and every proxy-route error come out differently (a served route without a key answers 401
// before it looks anything up).
func unknownRoute(r *resp) bool {
	if r.status == http.StatusMethodNotAllowed {
		return true
	}
	if r.status != http.StatusNotFound {
		return false
	}
	var p edge.Problem
	return json.Unmarshal(r.body, &p) == nil && p.Detail == edge.ErrNotFound.Detail
}

// TestOpenAPIEveryDocumentedRouteServed: every documented operation is served. Operations of the
// routes table are matched by pattern (and through match); every other one (the proxy family,
// also checked with isProxyPath / isVaultProxyPath, /openapi.json, routes not in the table yet)
// with a real request, without a key, to an in-process edge. The failure lists what is missing.
func TestOpenAPIEveryDocumentedRouteServed(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := startEdge(t)
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "probe", "destination_url": "https://example.com"}).expect(t, 201).json(t)
	proxyID := px["id"].(string)

	var missing []string
	for _, o := range documentedOperations(doc) {
		path := concretePath(o.path, proxyID)
		inTable := inRoutesTable(o.method, o.path)
		if inTable {
			if rt, _, _ := match(o.method, []byte(path)); rt == nil || rt.pattern != o.path {
				t.Errorf("match(%s, %s) does not find route %s", o.method, path, o.path)
			}
		}
		if o.path == "/proxy" || strings.HasPrefix(o.path, "/proxy/") {
			if !proxy.IsProxyPath([]byte(path)) {
				t.Errorf("proxy.IsProxyPath(%q) = false", path)
			}
		}
		if strings.HasPrefix(o.path, "/vault_proxy/") && !proxy.IsVaultProxyPath([]byte(path)) {
			t.Errorf("proxy.IsVaultProxyPath(%q) = false", path)
		}
		if inTable && o.path != "/openapi.json" { // /openapi.json is always probed: it must answer without a key
			continue
		}
		r := e.do(o.method, path, "", nil)
		if unknownRoute(r) {
			missing = append(missing, fmt.Sprintf("%s %s (probe %s answered %d)", o.method, o.path, path, r.status))
			continue
		}
		if o.path == "/openapi.json" {
			if r.status != http.StatusOK || !bytes.Equal(r.body, openAPIDoc) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("GET /openapi.json answered %d %q, want 200 application/json with the embedded document", r.status, r.header.Get("Content-Type"))
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d documented operations are not served:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
}

func TestOpenAPIServeHandler(t *testing.T) {
	t.Parallel()
	var rc fasthttp.RequestCtx
	rc.Request.Header.SetMethod("GET")
	rc.Request.SetRequestURI("/openapi.json")
	if err := (&Server{}).serveOpenAPI(&edge.Call{RC: &rc, Route: "/openapi.json"}); err != nil {
		t.Fatal(err)
	}
	if rc.Response.StatusCode() != http.StatusOK {
		t.Errorf("status %d", rc.Response.StatusCode())
	}
	if ct := string(rc.Response.Header.ContentType()); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Equal(rc.Response.Body(), openAPIDoc) || len(openAPIDoc) == 0 {
		t.Error("body is not the embedded document")
	}
}

// TestOpenAPIProblemMatchesStruct: the Problem schema declares exactly the fields of the Problem
// struct (required exactly when not omitempty, with matching JSON types), its example decodes into
// the struct losslessly, and problems the edge really writes validate, wrapped or not.
func TestOpenAPIProblemMatchesStruct(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schema := doc.Components.Schemas["Problem"].Value

	rt := reflect.TypeFor[edge.Problem]()
	fields := map[string]bool{}
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = true
		t.Run(name, func(t *testing.T) {
			prop := schema.Properties[name]
			if prop == nil {
				t.Fatalf("field %s (json %q) is not in the schema", f.Name, name)
			}
			omit := slices.Contains(strings.Split(opts, ","), "omitempty")
			if req := slices.Contains(schema.Required, name); req == omit {
				t.Errorf("required = %v, but the struct field omitempty = %v", req, omit)
			}
			if want, got := jsonTypeOf(f.Type), describeSchemaType(prop.Value); want != got {
				t.Errorf("schema type %s, struct type %s (%s)", got, want, f.Type)
			}
		})
	}
	for name := range schema.Properties {
		if !fields[name] {
			t.Errorf("schema property %q has no field in Problem", name)
		}
	}

	if len(schema.Examples) == 0 {
		t.Fatal("the Problem schema has no example")
	}
	for i, ex := range schema.Examples {
		raw, _ := json.Marshal(ex)
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		var p edge.Problem
		if err := d.Decode(&p); err != nil {
			t.Errorf("example %d does not decode into Problem: %v", i, err)
			continue
		}
		back, _ := json.Marshal(&p)
		if !jsonEqual(raw, back) {
			t.Errorf("example %d does not survive a round trip through Problem:\n%s\n%s", i, raw, back)
		}
		if p.Status == 0 || p.Title != http.StatusText(p.Status) {
			t.Errorf("example %d: title %q does not go with status %d", i, p.Title, p.Status)
		}
	}

	real := []*edge.Problem{edge.ErrUnauthenticated, edge.ErrNotFound, edge.ErrTooLarge, edge.ErrMalformedJSON,
		edge.Invalid("data.number", "fails the Luhn check"), edge.Forbidden("token:create"), edge.NewProblem(http.StatusBadGateway, "x")}
	for _, p := range real {
		for _, wrap := range []bool{false, true} {
			name := fmt.Sprintf("%d/wrapped=%v", p.Status, wrap)
			t.Run(name, func(t *testing.T) {
				var rc fasthttp.RequestCtx
				edge.WriteProblem(&rc, p, wrap)
				schemaName := "Problem"
				if wrap {
					schemaName = "ProxyError"
				}
				// Every documented error response names the Content-Type writeProblem sets.
				ct := string(rc.Response.Header.ContentType())
				for name, r := range doc.Components.Responses {
					for key, mt := range r.Value.Content {
						if mt.Schema != nil && (strings.HasSuffix(mt.Schema.Ref, "/Problem") || strings.HasSuffix(mt.Schema.Ref, "/ProxyError")) && key != ct {
							t.Errorf("response %s documents a problem as %q, the edge writes %q", name, key, ct)
						}
					}
				}
				checkBody(t, doc.Components.Schemas[schemaName].Value, rc.Response.Body())
			})
		}
	}
}

// jsonTypeOf names the JSON type a Go field marshals to, in describeSchemaType's notation.
func jsonTypeOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array<" + jsonTypeOf(t.Elem()) + ">"
	case reflect.Map:
		return "map<" + jsonTypeOf(t.Elem()) + ">"
	}
	return t.Kind().String()
}

func describeSchemaType(s *openapi3.Schema) string {
	switch {
	case s == nil:
		return "?"
	case s.Type.Is("array") && s.Items != nil:
		return "array<" + describeSchemaType(s.Items.Value) + ">"
	case s.Type.Is("object") && s.AdditionalProperties.Schema != nil:
		return "map<" + describeSchemaType(s.AdditionalProperties.Schema.Value) + ">"
	case s.Type != nil && len(*s.Type) == 1:
		return (*s.Type)[0]
	}
	return fmt.Sprint(s.Type)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// checkBody validates a JSON body against schema (JSON Schema 2020-12) and fails on any object
// member the schema does not declare.
func checkBody(t *testing.T, schema *openapi3.Schema, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %s", body)
	}
	if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.EnableFormatValidation(), openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		t.Errorf("body does not match the documented schema: %v\nbody: %s", err, body)
	}
	var extra []string
	undocumented(schema, v, "$", &extra)
	if len(extra) > 0 {
		sort.Strings(extra)
		t.Errorf("body has members the document does not declare: %s\nbody: %s", strings.Join(extra, ", "), body)
	}
}

// undocumented appends the JSON paths of object members in v that schema s does not declare.
// Objects whose schema declares no properties (free-form data) are not walked.
func undocumented(s *openapi3.Schema, v any, at string, out *[]string) {
	if s == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		var addl *openapi3.Schema
		free := false
		members(s, x, props, &addl, &free)
		if len(props) == 0 && addl == nil {
			free = true
		}
		for k, val := range x {
			switch ps, ok := props[k]; {
			case ok:
				undocumented(ps, val, at+"."+k, out)
			case addl != nil:
				undocumented(addl, val, at+"."+k, out)
			case !free:
				*out = append(*out, at+"."+k)
			}
		}
	case []any:
		items := itemsOf(s)
		for i, e := range x {
			undocumented(items, e, at+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

// members collects the properties s declares for the object v: its own, those of every allOf
// branch, and those of the anyOf/oneOf branches v matches (so a transform is checked against its
// own variant).
func members(s *openapi3.Schema, v map[string]any, props map[string]*openapi3.Schema, addl **openapi3.Schema, free *bool) {
	for k, p := range s.Properties {
		if props[k] == nil {
			props[k] = p.Value
		}
	}
	if ap := s.AdditionalProperties; ap.Schema != nil {
		*addl = ap.Schema.Value
	} else if ap.Has != nil && *ap.Has {
		*free = true
	}
	for _, sub := range s.AllOf {
		members(sub.Value, v, props, addl, free)
	}
	for _, sub := range slices.Concat(s.AnyOf, s.OneOf) {
		if sub.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()) == nil {
			members(sub.Value, v, props, addl, free)
		}
	}
}

func itemsOf(s *openapi3.Schema) *openapi3.Schema {
	if s.Items != nil {
		return s.Items.Value
	}
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for _, sub := range group {
			if it := itemsOf(sub.Value); it != nil {
				return it
			}
		}
	}
	return nil
}

// responseChecker validates real answers against the document.
type responseChecker struct {
	t   *testing.T
	doc *openapi3.T
}

// check validates r as the answer of the documented operation (method, pattern): its status is
// documented, its Content-Type too, and its JSON body matches the schema. It returns the decoded
// body (nil when there is none).
func (c *responseChecker) check(method, pattern string, r *resp) map[string]any {
	t := c.t
	t.Helper()
	item := c.doc.Paths.Value(pattern)
	if item == nil || item.GetOperation(method) == nil {
		t.Fatalf("%s %s is not documented", method, pattern)
	}
	op := item.GetOperation(method)
	ref := op.Responses.Status(r.status)
	if ref == nil {
		ref = op.Responses.Default()
	}
	if ref == nil {
		t.Errorf("%s %s answered %d, which is not documented: %s", method, pattern, r.status, r.body)
		return nil
	}
	if len(r.body) == 0 {
		if len(ref.Value.Content) != 0 && r.status != http.StatusNoContent {
			t.Errorf("%s %s %d: empty body, but the document describes one", method, pattern, r.status)
		}
		return nil
	}
	ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	mt := ref.Value.Content.Get(ct)
	if mt == nil {
		t.Errorf("%s %s %d: Content-Type %q is not documented", method, pattern, r.status, ct)
		return nil
	}
	if mt.Schema != nil {
		checkBody(t, mt.Schema.Value, r.body)
	}
	var m map[string]any
	json.Unmarshal(r.body, &m)
	return m
}

// TestOpenAPIResponsesMatchHandlers drives every API endpoint of an in-process edge and checks each
// answer (successes and errors) against the document.
func TestOpenAPIResponsesMatchHandlers(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := startEdge(t)
	c := &responseChecker{t: t, doc: doc}
	adm := e.adminKey
	mergePatchCT := []string{"Content-Type", "application/merge-patch+json"}

	// Applications.
	app := c.check("POST", "/applications", e.do("POST", "/applications", adm, map[string]any{
		"name": "checkout", "type": "private", "permissions": []string{"token:create", "token:read"}, "containers": []string{"/general/"},
	}).expect(t, 201))
	appPath := "/applications/" + app["id"].(string)
	c.check("GET", "/applications", e.do("GET", "/applications", adm, nil).expect(t, 200))
	c.check("GET", "/applications/{id}", e.do("GET", appPath, adm, nil).expect(t, 200))
	c.check("PUT", "/applications/{id}", e.do("PUT", appPath, adm, map[string]any{"name": "renamed", "permissions": []string{"token:read"}}).expect(t, 200))
	c.check("PUT", "/applications/{id}", e.do("PUT", appPath, adm, map[string]any{"type": "public"}).expect(t, 400))
	c.check("GET", "/applications/{id}", e.do("GET", "/applications/nope", adm, nil).expect(t, 404))
	weak := c.check("POST", "/applications", e.do("POST", "/applications", adm, map[string]any{"name": "weak", "type": "public", "permissions": []string{"token:create"}}).expect(t, 201))

	// Tokens.
	card := map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2099, "cvc": "123"}
	tok := c.check("POST", "/tokens", e.do("POST", "/tokens", adm, map[string]any{
		"id": "tok-openapi", "type": "card", "data": card, "metadata": map[string]string{"k": "v"},
	}).expect(t, 201))
	tokPath := "/tokens/" + tok["id"].(string)
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, map[string]any{"type": "card", "data": card, "deduplicate_token": true}).expect(t, 201))
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, map[string]any{
		"type": "token", "data": map[string]any{"a": "secret-value"}, "mask": map[string]any{"a": "{{ data.a | reveal_last: 2 }}"},
		"expires_at": "2099-01-01T00:00:00Z",
	}).expect(t, 201))
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, map[string]any{"type": "bank", "data": map[string]any{"routing_number": "011000015", "account_number": "123456789"}}).expect(t, 201))
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, map[string]any{"id": "tok-openapi", "data": "x"}).expect(t, 409))
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, map[string]any{"type": "card", "data": map[string]any{"number": "4242424242424241"}}).expect(t, 400))
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, "{not json").expect(t, 400))
	c.check("POST", "/tokens", e.do("POST", "/tokens", adm, "x", "Content-Type", "text/plain").expect(t, 415))
	c.check("POST", "/tokens", e.do("POST", "/tokens", weak["key"].(string), map[string]any{"data": "x"}).expect(t, 201))
	c.check("GET", "/tokens/{id}", e.do("GET", tokPath, weak["key"].(string), nil).expect(t, 403))
	c.check("GET", "/tokens/{id}", e.do("GET", tokPath, adm, nil).expect(t, 200))
	c.check("GET", "/tokens/{id}", e.do("GET", tokPath, "", nil).expect(t, 401))
	c.check("GET", "/tokens/{id}", e.do("GET", "/tokens/nope", adm, nil).expect(t, 404))
	c.check("PATCH", "/tokens/{id}", e.do("PATCH", tokPath, adm, map[string]any{"metadata": map[string]string{"k": "w"}, "data": map[string]any{"cvc": nil}}, mergePatchCT...).expect(t, 200))

	// Keys.
	for _, alg := range []string{"", "ECDH-ES+A256KW", "RSA-OAEP-256"} {
		body := map[string]any{}
		if alg != "" {
			body["alg"] = alg
		}
		k := c.check("POST", "/keys", e.do("POST", "/keys", adm, body).expect(t, 201))
		c.check("GET", "/keys/{id}", e.do("GET", "/keys/"+k["id"].(string), adm, nil).expect(t, 200))
		c.check("DELETE", "/keys/{id}", e.do("DELETE", "/keys/"+k["id"].(string), adm, nil).expect(t, 204))
	}
	c.check("POST", "/keys", e.do("POST", "/keys", adm, nil).expect(t, 201))
	c.check("POST", "/keys", e.do("POST", "/keys", adm, map[string]any{"alg": "none"}).expect(t, 400))
	c.check("GET", "/keys", e.do("GET", "/keys", adm, nil).expect(t, 200))

	// Proxies, with every declarative transform.
	transforms := []any{
		map[string]any{"type": "mask", "matcher": "regex", "expression": `"pan":"\d{12}(\d{4})"`},
		map[string]any{"type": "append_header", "options": map[string]any{"name": "Authorization", "value": "Bearer {{ config: KEY }}"}},
		map[string]any{"type": "append_json", "options": map[string]any{"value": "{{ config: KEY }}", "location": "$.auth.key"}},
		map[string]any{"type": "tokenize", "options": map[string]any{"location": "$.card.number", "identifier": "pan",
			"token": map[string]any{"type": "card_number", "containers": []string{"/pci/high/"}, "metadata": map[string]string{"from": "proxy"}}}},
	}
	prx := c.check("POST", "/proxies", e.do("POST", "/proxies", adm, map[string]any{
		"name": "acme", "destination_url": "https://api.acme.example/v1", "request_transforms": transforms,
		"response_transform": transforms[3], "configuration": map[string]string{"KEY": "k"}, "timeout": 5, "require_auth": false,
	}).expect(t, 201))
	prxPath := "/proxies/" + prx["id"].(string)
	c.check("POST", "/proxies", e.do("POST", "/proxies", adm, map[string]any{"name": "bad", "destination_url": "http://127.0.0.1/"}).expect(t, 400))
	c.check("GET", "/proxies", e.do("GET", "/proxies", adm, nil).expect(t, 200))
	c.check("GET", "/proxies/{id}", e.do("GET", prxPath, adm, nil).expect(t, 200))
	c.check("PUT", "/proxies/{id}", e.do("PUT", prxPath, adm, map[string]any{"name": "acme2", "destination_url": "https://api.acme.example/v2"}).expect(t, 200))
	c.check("PATCH", "/proxies/{id}", e.do("PATCH", prxPath, adm, map[string]any{"timeout": nil, "configuration": map[string]any{"X": "y"}}, mergePatchCT...).expect(t, 200))
	c.check("PATCH", "/proxies/{id}", e.do("PATCH", prxPath, adm, map[string]any{"name": "x"}).expect(t, 415))
	c.check("DELETE", "/proxies/{id}", e.do("DELETE", prxPath, adm, nil).expect(t, 204))

	// Proxy invocation errors are wrapped.
	c.check("POST", "/proxy", e.do("POST", "/proxy", adm, "{}").expect(t, 400))
	c.check("GET", "/proxy/{path}", e.do("GET", "/proxy/a/b", adm, nil, "BT-PROXY-KEY", "no-such-key").expect(t, 404))
	c.check("PUT", "/proxy", e.do("PUT", "/proxy", "", "{}", "BT-PROXY-URL", "https://example.com").expect(t, 401))
	c.check("DELETE", "/proxy/{path}", e.do("DELETE", "/proxy/x", adm, nil, "BT-PROXY-URL", "https://127.0.0.1").expect(t, 400))

	// The Footprint vault proxy.
	c.check("POST", "/vault_proxy/reflect", e.do("POST", "/vault_proxy/reflect", adm, `{"pan":"{{ tok-openapi.number }}"}`).expect(t, 200))
	c.check("POST", "/vault_proxy/reflect", e.do("POST", "/vault_proxy/reflect", "", `{}`).expect(t, 401))
	c.check("POST", "/vault_proxy/jit", e.do("POST", "/vault_proxy/jit", "", `{}`, "X-Footprint-Secret-Key", adm).expect(t, 400))
	c.check("POST", "/vault_proxy/{id}", e.do("POST", "/vault_proxy/nope", adm, `{}`).expect(t, 404))

	// Logs, paged.
	logs := c.check("GET", "/logs", e.do("GET", "/logs?size=2", adm, nil).expect(t, 200))
	if next, _ := logs["pagination"].(map[string]any)["next"].(string); next != "" {
		c.check("GET", "/logs", e.do("GET", "/logs?size=2&start="+next, adm, nil).expect(t, 200))
	} else {
		t.Error("GET /logs?size=2 after a dozen changes has no next page")
	}
	c.check("GET", "/logs", e.do("GET", "/logs?entity_type=token&operation=reveal&start_date=2000-01-01T00:00:00Z", adm, nil).expect(t, 200))
	c.check("GET", "/logs", e.do("GET", "/logs?size=1000", adm, nil).expect(t, 400))

	// Deletes.
	c.check("DELETE", "/tokens/{id}", e.do("DELETE", tokPath, adm, nil).expect(t, 204))
	c.check("DELETE", "/tokens/{id}", e.do("DELETE", tokPath, adm, nil).expect(t, 404))
	c.check("DELETE", "/applications/{id}", e.do("DELETE", appPath, adm, nil).expect(t, 204))
}

func BenchmarkOpenAPIServe(b *testing.B) {
	var rc fasthttp.RequestCtx
	c := &edge.Call{RC: &rc}
	s := &Server{}
	b.ReportAllocs()
	for b.Loop() {
		rc.Response.Reset()
		if err := s.serveOpenAPI(c); err != nil {
			b.Fatal(err)
		}
	}
}
