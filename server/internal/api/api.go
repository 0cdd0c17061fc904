// Package api is the edge's REST API by resource: tokens (over the vault), applications, keys,
// proxies (the definitions the proxy pipeline runs), transforms (WebAssembly uploads) and
// logs. Handlers take an edge.Call; the shell routes to them and maps their errors.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-edge/sluice/jwe"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/server/internal/proxy"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/transforms"
)

// Options are the API's limits, from the edge's configuration.
type Options struct {
	APIBodyBytes int64 // a JSON request body
	ModuleBytes  int64 // an uploaded WebAssembly module
}

// Deps are what the API uses, built once by the shell.
type Deps struct {
	Store     store.Store
	Vault     *vault.Vault
	Auth      *edge.Authenticator
	Proxy     *proxy.Pipeline // runs the proxies the API configures
	Policy    egress.Policy   // checks a proxy's destination URL when it is saved
	Keys      *Keys
	Decrypter *jwe.Decrypter
	Wasm      *transforms.Engine
	Metrics   *obs.Metrics
	Log       *slog.Logger
	Now       func() time.Time
}

// API serves the REST API. Build it with New; it is safe for concurrent use.
type API struct {
	opt       Options
	store     store.Store
	vault     *vault.Vault
	auth      *edge.Authenticator
	proxy     *proxy.Pipeline
	policy    egress.Policy
	keys      *Keys
	decrypter *jwe.Decrypter
	wasm      *transforms.Engine
	metrics   *obs.Metrics
	log       *slog.Logger
	now       func() time.Time
}

// New is the API over d.
func New(d Deps, opt Options) *API {
	return &API{opt: opt, store: d.Store, vault: d.Vault, auth: d.Auth, proxy: d.Proxy, policy: d.Policy,
		keys: d.Keys, decrypter: d.Decrypter, wasm: d.Wasm, metrics: d.Metrics, log: d.Log, now: d.Now}
}

// ctx is the context of work that belongs to no request.
func (s *API) ctx() context.Context { return context.Background() }

// event is the audit record of op by the caller on one entity.
func (s *API) event(c *edge.Call, entityType, entityID, op string) store.Event {
	return edge.Event(c.Who, s.now(), entityType, entityID, op)
}
