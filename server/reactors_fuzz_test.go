package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/store"
)

// FuzzReactArgs drives POST /reactors/{id}/react with arbitrary args through a reactor that
// returns its args as its result, so that the args' expressions and the result's tokenize are
// both untrusted: never a panic or a bare 500, errors are RFC 7807, and no error holds the
// plaintext of the token the seeds name.
func FuzzReactArgs(f *testing.F) {
	for _, seed := range []string{
		`{"raw":"{{ tok-fuzz }}"}`, `{"raw":{"a":["{{ tok-fuzz | json: '$' }}"]}}`,
		`{"tokenize":{"a":"x","b":[1,true,null,{"type":"token","data":"y"}]}}`,
		`{"tokenize":{"type":"card_number","data":"4242424242424241"}}`, `{"tokenize":{"type":"nope","data":1}}`,
		`{"raw":"{{ tok-missing }}"}`, `{"raw":"{{ config.NONE }}"}`, `{"raw":"{{ tok-fuzz | nope }}"}`,
		`{"raw":1,"raw":2}`, `{"other":1}`, `1`, `null`, `"{{"`, `[]`, `{"raw":"{{ BT_ENCRYPTED }}"}`,
		`{"tokenize":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`,
	} {
		f.Add([]byte(seed))
	}
	s := memServerIn(f, f.TempDir()) // the compilation cache goes to the temp dir
	serveOne := serveInit
	if st := serveOne(s, "POST", "/tokens", []byte(`{"id":"tok-fuzz","data":"fuzz-secret"}`)).Response.StatusCode(); st != 201 {
		f.Fatalf("token: %d", st)
	}
	wasm, err := os.ReadFile("../transforms/testdata/reactecho.wasm")
	if err != nil {
		f.Fatal(err)
	}
	echo := base64.StdEncoding.EncodeToString(wasm)
	rc := serveOne(s, "POST", "/reactors", []byte(`{"name":"echo","code":"`+echo+`"}`))
	var r struct{ ID string }
	if json.Unmarshal(rc.Response.Body(), &r); r.ID == "" {
		f.Fatalf("reactor: %s", rc.Response.Body())
	}
	path := "/reactors/" + r.ID + "/react"
	f.Fuzz(func(t *testing.T, args []byte) {
		body := append(append([]byte(`{"args":`), args...), '}')
		ctx := serveOne(s, "POST", path, body)
		st, out := ctx.Response.StatusCode(), ctx.Response.Body()
		if st == 200 {
			if !json.Valid(out) {
				t.Fatalf("200 with invalid JSON: %s", out)
			}
			return
		}
		if bytes.Contains(out, []byte("fuzz-secret")) {
			t.Fatalf("an error holds plaintext: %s", out)
		}
		var p struct {
			Status     int
			Detail     string
			ProxyError *struct {
				Status int
				Detail string
			} `json:"proxy_error"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("%d without a JSON body: %s", st, out)
		}
		if p.ProxyError != nil {
			p.Status, p.Detail = p.ProxyError.Status, p.ProxyError.Detail
		}
		switch {
		case p.Status != st:
			t.Fatalf("%d with body %s", st, out)
		case st == 500 && p.Detail != errReactorFailedDetail:
			t.Fatalf("500 not from the guest: %s", out)
		case st != 500 && st != 400 && st != 403 && st != 413:
			t.Fatalf("status %d for %q: %s", st, args, out)
		}
	})
}

// errReactorFailedDetail is the detail of a reactor that broke (reactecho breaks the ABI when
// its result is refused).
const errReactorFailedDetail = "the reactor failed (trap, time or memory limit)"

// FuzzRoutePattern: a matched route's id is one non-empty segment, and putting it back into the
// pattern gives the path (no segment skipped, no tail lost).
func FuzzRoutePattern(f *testing.F) {
	for _, seed := range []string{"/reactors/abc/react", "/reactors//react", "/reactors/a/b/react", "/reactors/react",
		"/reactors/abc/react/", "/reactors/abc/reactx", "/tokens/x", "/tokens/", "/proxies/{id}"} {
		f.Add("POST", seed)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, args, known := match(method, []byte(path))
		if rt == nil {
			return
		}
		params := strings.Count(rt.pattern, "{")
		back := rt.pattern
		for i := 0; i < params; i++ {
			if !known || args[i] == "" || strings.Contains(args[i], "/") {
				t.Fatalf("%s %q → %s args %q", method, path, rt.pattern, args)
			}
			open, end := strings.Index(back, "{"), strings.Index(back, "}")
			back = back[:open] + args[i] + back[end+1:]
		}
		if back != strings.TrimSuffix(path, "/") {
			t.Fatalf("%q matched %s with args %q", path, rt.pattern, args)
		}
	})
}

func TestReactRouteMatching(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ method, path, pattern, id string }{
		{"POST", "/reactors/abc/react", "/reactors/{id}/react", "abc"},
		{"POST", "/reactors/abc/react/", "/reactors/{id}/react", "abc"},
		{"PATCH", "/reactors/abc", "/reactors/{id}", "abc"},
		{"POST", "/reactors//react", "", ""},
		{"POST", "/reactors/a/b/react", "", ""},
		{"POST", "/reactors/abc/reactx", "", ""},
		{"GET", "/reactors/abc/react", "", ""},
	} {
		rt, args, _ := match(c.method, []byte(c.path))
		id := args[0]
		got := ""
		if rt != nil {
			got = rt.pattern
		}
		if got != c.pattern || id != c.id {
			t.Errorf("%s: got %q %q", c.path, got, id)
		}
	}
}

// serveInit is serveOne with a RequestCtx set up as a server's would be: the handlers hand it
// to the WebAssembly engine as a context.
func serveInit(s *Server, method, path string, body []byte) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.Set("BT-API-KEY", testAdminKey)
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	var rc fasthttp.RequestCtx
	rc.Init(&req, nil, nil)
	s.handle(&rc)
	return &rc
}

// memServerIn is memServer with its data (the WebAssembly compilation cache) in dir.
func memServerIn(t testing.TB, dir string) *Server {
	st, err := store.Open(store.Options{InMemory: true, MasterKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, func() { st.Close() })
	cfg := Defaults()
	cfg.AdminKey, cfg.DataDir = testAdminKey, dir
	s := &Server{cfg: cfg, log: slog.New(slog.NewJSONHandler(io.Discard, nil)), now: time.Now}
	if err := s.attach(st); err != nil {
		t.Fatal(err)
	}
	cleanup(t, func() { s.wasm.Close(context.Background()) })
	return s
}
