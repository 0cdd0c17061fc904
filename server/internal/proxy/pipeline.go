// Package proxy is the proxy pipeline: /proxy and Footprint's /vault_proxy, read top-down in
// Pipeline.Invoke — resolve (the proxy and who calls), destination, detokenize, transforms,
// forward, respond — and the pre-configured proxies it runs (Definition, kept in memory).
// Footprint's variant is the same pipeline with x-fp-* options.
package proxy

import (
	"context"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/jwe"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/transforms"
)

// Options are the limits and switches of the pipeline, from the edge's configuration.
type Options struct {
	ProxyTokens         int   // distinct tokens per request through a pre-configured proxy
	EphemeralTokens     int   // … through BT-PROXY-URL
	ReflectTokens       int   // … through /vault_proxy/reflect
	ExpressionsPerBody  int   // expressions per buffered body
	ProxyBodyBytes      int64 // largest body, either way
	HeaderBytes         int
	DestinationTimeout  time.Duration // until the destination's response headers
	DestinationBodyIdle time.Duration // between reads of the destination's body
	Ephemeral           bool          // BT-PROXY-URL and /vault_proxy/jit are allowed
}

// Deps are what the pipeline uses, built once by the shell.
type Deps struct {
	Store     store.Store
	Vault     *vault.Vault
	Auth      *edge.Authenticator
	Metrics   *obs.Metrics
	Log       *slog.Logger
	LogBuf    *obs.BufferedLog // the log's own buffer, or nil
	Now       func() time.Time
	Policy    egress.Policy    // checks destination URLs (the client's dialer checks addresses)
	Client    *fasthttp.Client // to destinations
	Decrypter *jwe.Decrypter   // BT-ENCRYPTED
	Wasm      *transforms.Engine
}

// Pipeline runs proxied requests. Build it with New; it is safe for concurrent use.
type Pipeline struct {
	opt       Options
	store     store.Store
	vault     *vault.Vault
	auth      *edge.Authenticator
	metrics   *obs.Metrics
	log       *slog.Logger
	logBuf    *obs.BufferedLog
	now       func() time.Time
	policy    egress.Policy
	client    *fasthttp.Client
	decrypter *jwe.Decrypter
	wasm      *transforms.Engine
	proxies   *proxyRegistry
}

// New prepares the pipeline and loads the pre-configured proxies from the store.
func New(d Deps, opt Options) (*Pipeline, error) {
	p := &Pipeline{opt: opt, store: d.Store, vault: d.Vault, auth: d.Auth, metrics: d.Metrics, log: d.Log,
		logBuf: d.LogBuf, now: d.Now, policy: d.Policy, client: d.Client, decrypter: d.Decrypter, wasm: d.Wasm}
	if err := p.loadProxies(); err != nil {
		return nil, err
	}
	return p, nil
}

// ctx is the context of work that belongs to no request (start-up).
func (s *Pipeline) ctx() context.Context { return context.Background() }

// event is the audit record of op by the caller on one entity.
func (s *Pipeline) event(c *edge.Call, entityType, entityID, op string) store.Event {
	return edge.Event(c.Who, s.now(), entityType, entityID, op)
}

// logRequest writes a request's canonical line (a streamed answer's, when its body ends).
func (s *Pipeline) logRequest(ctx context.Context, l *obs.RequestLine) {
	obs.LogRequest(ctx, s.log, s.logBuf, l)
}

// Install puts p (saved in the store) into service, replacing the proxy of the same id.
func (s *Pipeline) Install(p *Definition) {
	s.prepareProxy(p)
	s.proxies.put(p)
}

// Remove takes proxy id out of service.
func (s *Pipeline) Remove(id string) { s.proxies.remove(id) }

// Get is the proxy id, or nil.
func (s *Pipeline) Get(id string) *Definition { return s.proxies.get(id) }

// List is every proxy, in no order.
func (s *Pipeline) List() []*Definition { return s.proxies.list() }
