package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

func testdataWasm(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../transforms/testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload posts a module and returns its id. A Go guest compiles in 1.5–3 s, but for over 30 s
// (e.do's bound) under -race on a loaded VM.
func (e *testEdge) upload(key string, wasm []byte) string {
	e.t.Helper()
	r := e.doBounded(e.t, 10*time.Minute, "POST", "/transforms", key, wasm, "Content-Type", "application/wasm")
	if r == nil {
		e.t.FailNow()
	}
	return r.expect(e.t, 201).json(e.t)["id"].(string)
}

// wasmProxy creates a proxy to dest with one request or response wasm transform.
func (e *testEdge) wasmProxy(dest *destination, moduleID string, response bool, config map[string]string) string {
	e.t.Helper()
	field := "request_transforms"
	if response {
		field = "response_transforms"
	}
	body := map[string]any{"name": "wasm", "destination_url": dest.url, field: []any{map[string]any{"type": "wasm", "module_id": moduleID}}, "configuration": config}
	return e.do("POST", "/proxies", e.adminKey, body).expect(e.t, 201).json(e.t)["key"].(string)
}

func TestTransformsUpload(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	tiny := testdataWasm(t, "tiny")
	m := e.do("POST", "/transforms", e.adminKey, tiny, "Content-Type", "application/wasm").expect(t, 201).json(t)
	sum := sha256.Sum256(tiny)
	if m["id"] != "sha256:"+hex.EncodeToString(sum[:]) || m["size"] != float64(len(tiny)) || len(m["exports"].([]any)) == 0 || m["created_at"] == nil {
		t.Fatalf("upload answer %v", m)
	}
	again := e.do("POST", "/transforms", e.adminKey, tiny, "Content-Type", "application/wasm").expect(t, 201).json(t)
	if again["id"] != m["id"] || again["created_at"] != m["created_at"] {
		t.Fatalf("same bytes, different answer: %v", again)
	}
	e.do("POST", "/transforms", e.adminKey, []byte("junk, not wasm"), "Content-Type", "application/wasm").expectProblem(t, 422, false)
	bad := e.do("POST", "/transforms", e.adminKey, testdataWasm(t, "badimport"), "Content-Type", "application/wasm").expectProblem(t, 422, false)
	if !strings.Contains(fmt.Sprint(bad["detail"]), "import") {
		t.Fatalf("422 does not name the import: %v", bad)
	}
	e.do("POST", "/transforms", e.adminKey, testdataWasm(t, "noentry"), "Content-Type", "application/wasm").expectProblem(t, 422, false)
	e.do("POST", "/transforms", e.adminKey, tiny, "Content-Type", "application/json").expectProblem(t, 415, false)
	e.do("POST", "/transforms", "", tiny, "Content-Type", "application/wasm").expectProblem(t, 401, false)
	reader, _ := e.newApp("private", "transform:read")
	e.do("POST", "/transforms", reader, tiny, "Content-Type", "application/wasm").expectProblem(t, 403, false)
	if l := e.do("GET", "/transforms", reader, nil).expect(t, 200).json(t)["data"].([]any); len(l) != 1 {
		t.Fatalf("list %v", l)
	}
	id := m["id"].(string)
	e.do("GET", "/transforms/"+id, reader, nil).expect(t, 200)
	// In use by a proxy → 409; after the proxy is gone → 204.
	dest := startDestination(t)
	_ = dest
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": "https://example.com",
		"request_transforms": []any{map[string]any{"type": "wasm", "module_id": id}}}).expect(t, 201).json(t)
	e.do("DELETE", "/transforms/"+id, e.adminKey, nil).expectProblem(t, 409, false)
	e.do("DELETE", "/proxies/"+px["id"].(string), e.adminKey, nil).expect(t, 204)
	e.do("DELETE", "/transforms/"+id, e.adminKey, nil).expect(t, 204)
	e.do("GET", "/transforms/"+id, reader, nil).expectProblem(t, 404, false)
	// A proxy naming an unknown module is refused; inline code is compiled and kept.
	e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": "https://example.com",
		"request_transforms": []any{map[string]any{"type": "wasm", "module_id": "sha256:00"}}}).expectProblem(t, 400, false)
	inline := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": "https://example.com",
		"request_transforms": []any{map[string]any{"type": "wasm", "code": base64.StdEncoding.EncodeToString(tiny)}}}).expect(t, 201).json(t)
	if inline["request_transforms"].([]any)[0].(map[string]any)["module_id"] != id {
		t.Fatalf("inline code not kept as a module: %v", inline)
	}
}

func TestExampleTransformsThroughProxy(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	card := e.token(k, map[string]any{"type": "card_number", "data": "4242424242424242"})

	t.Run("form-encode", func(t *testing.T) {
		key := e.wasmProxy(dest, e.upload(k, testwasm.Example(t, "form-encode")), false, nil)
		e.do("POST", "/proxy/pay", k, `{"amount":10,"card":"{{ `+card+` }}"}`, "BT-PROXY-KEY", key).expect(t, 200)
		got := dest.last(t)
		q, err := url.ParseQuery(string(got.body))
		if err != nil || q.Get("amount") != "10" || q.Get("card") != "4242424242424242" || !strings.HasPrefix(got.header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			t.Fatalf("form-encode: %q %v", got.body, got.header)
		}
	})
	t.Run("require-header", func(t *testing.T) {
		key := e.wasmProxy(dest, e.upload(k, testwasm.Example(t, "require-header")), false, nil)
		m := e.do("POST", "/proxy", k, "{}", "BT-PROXY-KEY", key).expectProblem(t, 401, true)
		if msgs := m["errors"].(map[string]any)["error"].([]any); len(msgs) != 1 || msgs[0] != "X-Customer-Id header is required" {
			t.Fatalf("require-header: %v", m)
		}
		e.do("POST", "/proxy", k, "{}", "BT-PROXY-KEY", key, "X-Customer-Id", "c-1").expect(t, 200)
	})
	t.Run("custom-error", func(t *testing.T) {
		key := e.wasmProxy(dest, e.upload(k, testwasm.Example(t, "custom-error")), false, nil)
		n := len(dest.requests())
		r := e.do("POST", "/proxy", k, `{"teapot":true}`, "BT-PROXY-KEY", key).expect(t, 418)
		if r.header.Get("X-Custom") != "yes" || string(r.body) != `{"custom":"teapot"}` || len(dest.requests()) != n {
			t.Fatalf("custom-error: %v %s", r.header, r.body)
		}
		e.do("POST", "/proxy", k, `{"teapot":false}`, "BT-PROXY-KEY", key).expect(t, 200)
	})
	t.Run("vault-response", func(t *testing.T) {
		key := e.wasmProxy(dest, e.upload(k, testwasm.Example(t, "vault-response")), true, nil)
		answer := `{"account":{"routing":"021000021","number":"000123456789"}}`
		r := e.do("POST", "/proxy/json", k, "{}", "BT-PROXY-KEY", key, "X-Answer", answer).expect(t, 200)
		var out struct {
			Account struct{ Routing, Number string }
		}
		json.Unmarshal(r.body, &out)
		if out.Account.Number == "000123456789" || out.Account.Routing != "021000021" {
			t.Fatalf("vault-response: %s", r.body)
		}
		if v := e.do("GET", "/tokens/"+out.Account.Number, k, nil).expect(t, 200).json(t)["data"]; v != "000123456789" {
			t.Fatalf("vaulted %v", v)
		}
	})
	t.Run("hmac-sign", func(t *testing.T) {
		key := e.wasmProxy(dest, e.upload(k, testwasm.Example(t, "hmac-sign")), false, map[string]string{"HMAC_SECRET": "s3cr3t"})
		body := `{"amount":42}`
		e.do("POST", "/proxy", k, body, "BT-PROXY-KEY", key).expect(t, 200)
		mac := hmac.New(sha256.New, []byte("s3cr3t"))
		mac.Write([]byte(body))
		if got := dest.last(t).header.Get("X-Signature"); got != hex.EncodeToString(mac.Sum(nil)) {
			t.Fatalf("X-Signature %q", got)
		}
	})
	if n := e.srv.wasm.Stats().RequestPathInstantiations; n != 0 {
		t.Fatalf("%d instantiations on the request path", n)
	}
}

// TestHostileTransformsThroughEdge: a guest that loops, traps or grows memory fails its request
// with a 500 proxy_error, and the next request succeeds. (How fast a loop is stopped is measured
// in package transforms.)
func TestHostileTransformsThroughEdge(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest, func(c *Config) { c.Transforms.CallTimeout = 200 * time.Millisecond })
	good := e.wasmProxy(dest, e.upload(e.adminKey, testdataWasm(t, "tiny")), false, nil)
	for _, name := range []string{"loop", "trap", "grow", "oob", "recurse", "pathopen"} {
		t.Run(name, func(t *testing.T) {
			key := e.wasmProxy(dest, e.upload(e.adminKey, testdataWasm(t, name)), false, nil)
			body := "{}"
			if name == "oob" {
				body = "0" // oob.wat picks its bad call by the first body byte
			}
			r := e.do("POST", "/proxy", e.adminKey, body, "BT-PROXY-KEY", key)
			if name == "pathopen" {
				r.expect(t, 200) // the guest's path_open fails; the guest carries on
			} else {
				r.expectProblem(t, 500, true)
			}
			e.do("POST", "/proxy", e.adminKey, "{}", "BT-PROXY-KEY", good).expect(t, 200)
		})
	}
}

// TestGoGuestConcurrent: 64 concurrent requests through a Go-guest transform (run under -race by
// make test-race), each result correct.
func TestGoGuestConcurrent(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	key := e.wasmProxy(dest, e.upload(e.adminKey, testwasm.Example(t, "hmac-sign")), false, map[string]string{"HMAC_SECRET": "k"})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`{"n":%d}`, i)
			r := e.do("POST", "/proxy/json", e.adminKey, body, "BT-PROXY-KEY", key, "X-Answer", body)
			if r.status != 200 || string(r.body) != body {
				errs <- fmt.Sprintf("%d: %d %s", i, r.status, r.body)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, got := range dest.requests() {
		mac := hmac.New(sha256.New, []byte("k"))
		mac.Write(got.body)
		if got.header.Get("X-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			t.Fatalf("wrong signature for %s", got.body)
		}
	}
}
