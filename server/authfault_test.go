package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/store"
)

// appsUnavailable is a vault whose application reads fail as a vault that cannot answer does.
type appsUnavailable struct{ store.Store }

func (appsUnavailable) ApplicationByKey(context.Context, string) (*store.Application, error) {
	return nil, store.ErrUnavailable
}

// TestVaultFaultIsNotUnauthenticated: a vault that cannot look an API key up answers 503, not
// 401: the caller's key may be perfectly good, and a 401 would tell it to throw the key away.
func TestVaultFaultIsNotUnauthenticated(t *testing.T) {
	t.Parallel()
	st, err := store.Open(store.Options{InMemory: true, MasterKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, func() { st.Close() })
	s := &Server{cfg: Defaults(), log: slog.New(slog.NewJSONHandler(io.Discard, nil)), now: time.Now}
	if err := s.attach(appsUnavailable{st}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/tokens/x", "/proxy"} {
		t.Run(path, func(t *testing.T) {
			var rc fasthttp.RequestCtx
			rc.Request.Header.SetMethod("GET")
			rc.Request.SetRequestURI(path)
			rc.Request.Header.Set("BT-API-KEY", "key_an_application_key_the_vault_could_not_look_up")
			rc.Request.Header.Set("BT-PROXY-URL", "https://example.com/")
			s.handle(&rc)
			if got := rc.Response.StatusCode(); got != 503 {
				t.Fatalf("status %d, want 503: %s", got, rc.Response.Body())
			}
		})
	}
}
