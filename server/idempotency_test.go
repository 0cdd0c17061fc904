package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/server/internal/api"
	"github.com/sluice-edge/sluice/store"
)

const idemHeader = "BT-IDEMPOTENCY-KEY"

// TestIdempotencyKeyReplaysAcrossRestart: a repeated create with one key makes one token, its
// answer is replayed (also after the edge restarts on the same data dir), and the key with a
// different body is refused.
func TestIdempotencyKeyReplaysAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	onDir := func(c *Config) { c.DataDir = dir }
	e := startEdge(t, onDir)
	body := map[string]any{"type": "token", "data": "idempotent secret"}
	first := e.do("POST", "/tokens", e.adminKey, body, idemHeader, "create-1").expect(t, 201)
	id := first.json(t)["id"]
	again := e.do("POST", "/tokens", e.adminKey, body, idemHeader, "create-1").expect(t, 201)
	if string(again.body) != string(first.body) {
		t.Fatalf("replay differs:\n%s\n%s", again.body, first.body)
	}
	other := e.do("POST", "/tokens", e.adminKey, map[string]any{"type": "token", "data": "another"}, idemHeader, "create-1")
	other.expectProblem(t, 400, false)
	e.do("POST", "/tokens", e.adminKey, body, idemHeader, "create-2").expect(t, 201)

	e.stop()
	e = startEdge(t, onDir)
	after := e.do("POST", "/tokens", e.adminKey, body, idemHeader, "create-1").expect(t, 201)
	if got := after.json(t)["id"]; got != id {
		t.Fatalf("after a restart the replay made token %v, want %v", got, id)
	}
	page, err := e.srv.store.ListTokens(context.Background(), store.TokenQuery{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tokens) != 2 {
		t.Fatalf("%d tokens, want 2 (one per idempotency key)", len(page.Tokens))
	}
}

// TestIdempotencyKeyInFlightIsConflict: while another request (here: another node's claim in
// the shared vault) holds the key, the same request is a 409 and nothing is created.
func TestIdempotencyKeyInFlightIsConflict(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	body := `{"type":"token","data":"racing"}`
	hash := api.RequestHash([]byte("POST"), []byte("/tokens"), []byte(body))
	res, err := e.srv.store.BeginIdempotent(context.Background(), "admin", "race", hash, api.IdempotencyTTL)
	if err != nil || res.State != store.IdemNew {
		t.Fatalf("claim: %v %v", res.State, err)
	}
	e.do("POST", "/tokens", e.adminKey, body, idemHeader, "race").expectProblem(t, 409, false)
	page, _ := e.srv.store.ListTokens(context.Background(), store.TokenQuery{Size: 10})
	if len(page.Tokens) != 0 {
		t.Fatalf("%d tokens created under an in-flight key", len(page.Tokens))
	}
}

// TestIdempotencyKeyRefusedAnswerIsNotKept: a refused request frees its key, so the corrected
// request with the same key runs (only successful answers are replayed).
func TestIdempotencyKeyRefusedAnswerIsNotKept(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	bad := map[string]any{"type": "card_number", "data": "4242"}
	e.do("POST", "/tokens", e.adminKey, bad, idemHeader, "fix-me").expectProblem(t, 400, false)
	e.do("POST", "/tokens", e.adminKey, bad, idemHeader, "fix-me").expectProblem(t, 400, false)
	good := map[string]any{"type": "card_number", "data": "4242424242424242"}
	e.do("POST", "/tokens", e.adminKey, good, idemHeader, "fix-me").expect(t, 201)
}

// TestIdempotencyKeyScopedByApplication: two applications using the same key get their own
// answers; a key on a GET or DELETE is ignored.
func TestIdempotencyKeyScopedByApplication(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	app := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "other", "type": "private",
		"permissions": []string{"token:create", "token:read", "token:delete"}, "create_key": true}).expect(t, 201).json(t)
	key := app["key"].(string)
	body := map[string]any{"type": "token", "data": "shared key"}
	a := e.do("POST", "/tokens", e.adminKey, body, idemHeader, "same").expect(t, 201).json(t)["id"]
	b := e.do("POST", "/tokens", key, body, idemHeader, "same").expect(t, 201).json(t)["id"]
	if a == b {
		t.Fatalf("two applications shared one idempotent answer (%v)", a)
	}
	path := "/tokens/" + b.(string)
	e.do("DELETE", path, key, nil, idemHeader, "del").expect(t, 204)
	e.do("DELETE", path, key, nil, idemHeader, "del").expect(t, 404)
}

// TestIdempotencyKeyChunkedBodyReachesHandler: a chunked (streamed) body is read once for the
// request's hash and still reaches the handler whole; its repeat, chunked again, is a replay.
func TestIdempotencyKeyChunkedBodyReachesHandler(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	body := `{"type":"token","data":"` + strings.Repeat("chunked ", 2000) + `"}`
	post := func() *resp {
		req, _ := http.NewRequest("POST", e.base+"/tokens", io.MultiReader(strings.NewReader(body))) // no length: chunked
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("BT-API-KEY", e.adminKey)
		req.Header.Set(idemHeader, "chunked")
		res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return &resp{status: res.StatusCode, header: res.Header, body: b}
	}
	first := post().expect(t, 201).json(t)
	if again := post().expect(t, 201).json(t); again["id"] != first["id"] {
		t.Fatalf("the chunked repeat made token %v, want %v", again["id"], first["id"])
	}
	got := e.do("GET", "/tokens/"+first["id"].(string), e.adminKey, nil).expect(t, 200).json(t)
	if got["data"] != strings.Repeat("chunked ", 2000) {
		t.Fatalf("the handler did not get the whole chunked body: %.60v", got["data"])
	}
}

// TestIdempotencyKeyIgnoredOnProxyRoutes: a proxied call is the caller's to make idempotent
// with its destination: each call with the same key reaches it, and the key itself does not.
func TestIdempotencyKeyIgnoredOnProxyRoutes(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	for range 2 {
		e.do("POST", "/proxy", e.adminKey, `{"n":1}`, "BT-PROXY-URL", dest.url+"/echo", idemHeader, "proxied").expect(t, 200)
	}
	got := dest.requests()
	if len(got) != 2 {
		t.Fatalf("%d calls reached the destination, want 2", len(got))
	}
	if v := got[1].header.Get(idemHeader); v != "" {
		t.Fatalf("the destination got %s: %q", idemHeader, v)
	}
}
