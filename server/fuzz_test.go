package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

// memServer is a Server on an in-memory vault, for fuzzing handlers without sockets.
func memServer(t testing.TB) *Server {
	st, err := store.Open(store.Options{InMemory: true, MasterKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, func() { st.Close() })
	cfg := Defaults()
	cfg.AdminKey = testAdminKey
	s := &Server{cfg: cfg, log: slog.New(slog.NewJSONHandler(io.Discard, nil)), now: time.Now}
	if err := s.attach(st); err != nil {
		t.Fatal(err)
	}
	return s
}

func serveOne(s *Server, method, path string, body []byte) *fasthttp.RequestCtx {
	var rc fasthttp.RequestCtx
	rc.Request.Header.SetMethod(method)
	rc.Request.SetRequestURI(path)
	rc.Request.Header.Set("BT-API-KEY", testAdminKey)
	rc.Request.Header.SetContentType("application/json")
	rc.Request.SetBody(body)
	s.handle(&rc)
	return &rc
}

// FuzzCreateToken drives POST /tokens with arbitrary bodies: never a panic or a 500, always an RFC
// 7807 body on error, and never a secret-looking input echoed in an error.
func FuzzCreateToken(f *testing.F) {
	for _, seed := range []string{
		`{"type":"card","data":{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}}`,
		`{"type":"bank","data":{"routing_number":"021000021","account_number":"1234"}}`,
		`{"data":"x","metadata":{"a":"b"},"containers":["/a/"],"expires_at":"2099-01-01T00:00:00Z","deduplicate_token":true}`,
		`{"id":"custom","data":{"deep":[[[[{}]]]]}}`,
		`{"type":"social_security_number","data":"123-45-6789"}`,
		`{"data":null}`, `{}`, `[]`, `null`, `{"data":"x"}{"data":"y"}`, `{"type":["card"]}`, `{"expires_at":1}`,
		`{"data":"\ud800"}`, `{"mask":"{{ data }}","data":"x"}`, `{"encrypted":"a.b.c.d.e"}`,
		`{"data":1e400}`, `{"metadata":{"` + strings.Repeat("k", 200) + `":"v"},"data":1}`,
	} {
		f.Add([]byte(seed))
	}
	s := memServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := serveOne(s, "POST", "/tokens", body)
		st := ctx.Response.StatusCode()
		switch st {
		case 201:
			var v vault.View
			if err := json.Unmarshal(ctx.Response.Body(), &v); err != nil || v.ID == "" {
				t.Fatalf("201 without a token: %s", ctx.Response.Body())
			}
		case 400, 409, 413, 415:
			var p edge.Problem
			if err := json.Unmarshal(ctx.Response.Body(), &p); err != nil || p.Status != st {
				t.Fatalf("%d without RFC 7807 body: %s", st, ctx.Response.Body())
			}
		default:
			t.Fatalf("status %d for %q: %s", st, body, ctx.Response.Body())
		}
	})
}

// FuzzMergePatch: any patch on any document gives valid JSON or an error, never a panic.
func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":2}}`), []byte(`{"b":{"c":null},"d":[1]}`))
	f.Add([]byte(`"x"`), []byte(`{"a":1}`))
	f.Add([]byte(`{}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		if !json.Valid(doc) {
			return
		}
		out, err := edge.MergePatch(doc, patch)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON from merge: %s", out)
		}
	})
}

func TestRouteMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path, pattern, id string
		known                     bool
	}{
		{"POST", "/tokens", "/tokens", "", true},
		{"POST", "/tokens/", "/tokens", "", true},
		{"GET", "/tokens/abc", "/tokens/{id}", "abc", true},
		{"PUT", "/tokens/abc", "", "", true},
		{"GET", "/tokens/abc/def", "", "", false},
		{"GET", "/tokensx", "", "", false},
		{"GET", "/", "", "", false},
		{"GET", "/logs", "/logs", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r, args, known := match(tt.method, []byte(tt.path))
			id := args[0]
			got := ""
			if r != nil {
				got = r.pattern
			}
			if got != tt.pattern || id != tt.id || known != tt.known {
				t.Fatalf("got %q %q %v", got, id, known)
			}
		})
	}
}
