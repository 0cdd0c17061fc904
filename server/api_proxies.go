package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
	"github.com/valyala/fasthttp"
)

// proxyConfig is a pre-configured proxy (SPEC §5), as stored (sealed: it holds the proxy key and
// configuration secrets) and as returned by the API.
type proxyConfig struct {
	ID                    string            `json:"id"`
	Key                   string            `json:"key"`
	Name                  string            `json:"name"`
	DestinationURL        string            `json:"destination_url"`
	RequestTransforms     []transform       `json:"request_transforms"`
	ResponseTransforms    []transform       `json:"response_transforms"`
	Configuration         map[string]string `json:"configuration"`
	RequireAuth           bool              `json:"require_auth"`
	Timeout               float64           `json:"timeout,omitempty"`
	DisableDetokenization bool              `json:"disable_detokenization"`
	// ApplicationID is whose permissions detokenization and tokenize transforms run with when the
	// proxy is invoked without a key (require_auth false). Defaults to the creator.
	ApplicationID string     `json:"application_id,omitempty"`
	CreatedBy     string     `json:"created_by,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ModifiedAt    *time.Time `json:"modified_at,omitempty"`

	basePath string // DestinationURL's path without trailing slashes, checked once on save/load
	// destErr is DestinationURL's verdict under the policy this process runs with (nil: allowed),
	// checked on every invocation: a proxy saved while an --allow-* flag was on is refused once
	// the edge runs without it.
	destErr error
	// hostMemo is DestinationURL parsed once by fasthttp: copied into each destination request,
	// it spares fasthttp the parse of the same host (see destinationHostMemo).
	hostMemo *fasthttp.URI
}

// transform is one entry of request_transforms / response_transforms.
type transform struct {
	Type        string            `json:"type"`
	ModuleID    string            `json:"module_id,omitempty"`
	Code        string            `json:"code,omitempty"`
	Matcher     string            `json:"matcher,omitempty"`
	Expression  string            `json:"expression,omitempty"`
	Replacement string            `json:"replacement,omitempty"`
	Options     *transformOptions `json:"options,omitempty"`

	re      *regexp.Regexp // compiled mask expression
	reInsts int            // its program size (maskAffordable)
}

type transformOptions struct {
	Location   string         `json:"location,omitempty"`
	Identifier string         `json:"identifier,omitempty"`
	Token      *tokenTemplate `json:"token,omitempty"`
	Value      string         `json:"value,omitempty"`
	Name       string         `json:"name,omitempty"`
}

type tokenTemplate struct {
	Type       string            `json:"type"`
	Containers []string          `json:"containers,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	ExpiresAt  string            `json:"expires_at,omitempty"`
}

// proxyRequest is the body of POST/PUT /proxies (and, as a merge patch, PATCH).
type proxyRequest struct {
	Name                  *string           `json:"name"`
	DestinationURL        *string           `json:"destination_url"`
	RequestTransforms     []transform       `json:"request_transforms"`
	ResponseTransforms    []transform       `json:"response_transforms"`
	RequestTransform      *transform        `json:"request_transform"`
	ResponseTransform     *transform        `json:"response_transform"`
	Configuration         map[string]string `json:"configuration"`
	RequireAuth           *bool             `json:"require_auth"`
	Timeout               *float64          `json:"timeout"`
	DisableDetokenization *bool             `json:"disable_detokenization"`
	ApplicationID         *string           `json:"application_id"`
}

// proxyRegistry keeps every proxy in memory, by id and by key, so invocation never reads the vault
// for its configuration. The vault is the source of truth; the registry is rebuilt at start.
type proxyRegistry struct {
	mu    sync.RWMutex
	byID  map[string]*proxyConfig
	byKey map[string]*proxyConfig
}

func (r *proxyRegistry) put(p *proxyConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[p.ID]; old != nil {
		delete(r.byKey, old.Key)
	}
	r.byID[p.ID], r.byKey[p.Key] = p, p
}

func (r *proxyRegistry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[id]; old != nil {
		delete(r.byKey, old.Key)
		delete(r.byID, id)
	}
}

func (r *proxyRegistry) get(id string) *proxyConfig {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byID[id]
}

// byProxyKey finds a proxy by its key; key is a view, not retained.
func (r *proxyRegistry) byProxyKey(key []byte) *proxyConfig {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byKey[string(key)]
}

func (r *proxyRegistry) list() []*proxyConfig {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*proxyConfig, 0, len(r.byID))
	for _, p := range r.byID {
		out = append(out, p)
	}
	return out
}

// loadProxies fills the registry from the vault.
func (s *Server) loadProxies() error {
	s.proxies = &proxyRegistry{byID: map[string]*proxyConfig{}, byKey: map[string]*proxyConfig{}}
	docs, err := s.store.List(s.ctx(), store.Proxies)
	if err != nil {
		return err
	}
	for _, d := range docs {
		var p proxyConfig
		if err := json.Unmarshal(d, &p); err != nil {
			return err
		}
		for _, list := range [][]transform{p.RequestTransforms, p.ResponseTransforms} {
			for i := range list {
				list[i].compile()
			}
		}
		s.prepareProxy(&p)
		s.proxies.put(&p)
	}
	return nil
}

func (t *transform) compile() {
	if t.Type == "mask" {
		t.re, t.reInsts, _ = compileMask(t.Expression)
	}
}

// validateTransform checks one transform; field names the list it is in.
func (s *Server) validateTransform(c *edge.Call, t *transform, field string) error {
	if t.Type == "wasm" {
		return s.validateWasmTransform(c, t, field)
	}
	return validateDeclarative(t, field)
}

// validateDeclarative checks a transform that needs nothing of the server: tokenize, mask,
// append_json, append_header.
func validateDeclarative(t *transform, field string) error {
	switch t.Type {
	case "tokenize":
		if t.Options == nil || t.Options.Token == nil {
			return edge.Invalid(field, "tokenize needs options.location and options.token")
		}
		if _, err := jsonPath(t.Options.Location); err != nil {
			return edge.Invalid(field, "options.location: "+err.Error())
		}
		if !vault.Known(t.Options.Token.Type) {
			return edge.Invalid(field, "options.token.type is not a token type")
		}
		for _, c := range t.Options.Token.Containers {
			if !vault.ValidContainer(c) {
				return edge.Invalid(field, "options.token.containers: a container looks like /segment/")
			}
		}
		if e := t.Options.Token.ExpiresAt; e != "" {
			if _, err := time.Parse(time.RFC3339, e); err != nil {
				return edge.Invalid(field, "options.token.expires_at must be RFC 3339")
			}
		}
	case "mask":
		if t.Matcher != "regex" {
			return edge.Invalid(field, `mask needs "matcher": "regex"`)
		}
		re, insts, err := compileMask(t.Expression)
		if err == errMaskTooComplex {
			return edge.Invalid(field, "mask expression is too complex (at most 256 regex instructions)")
		}
		if err != nil || re.NumSubexp() < 1 || len(t.Expression) > 1024 {
			return edge.Invalid(field, "mask expression must be a valid regex with a group (at most 1 KiB)")
		}
		if re.MatchString("") {
			return edge.Invalid(field, "mask expression must not match the empty string")
		}
		if t.Replacement == "" {
			t.Replacement = "*"
		}
		if len(t.Replacement) > 16 {
			return edge.Invalid(field, "mask replacement is at most 16 bytes")
		}
		t.re, t.reInsts = re, insts
	case "append_json":
		if t.Options == nil || t.Options.Value == "" {
			return edge.Invalid(field, "append_json needs options.value and options.location")
		}
		if _, err := jsonPath(t.Options.Location); err != nil {
			return edge.Invalid(field, "options.location: "+err.Error())
		}
		if _, err := expr.Scan([]byte(t.Options.Value), expr.Text, nil); err != nil {
			return edge.Invalid(field, "options.value: "+edge.ExprDetail(err))
		}
	case "append_header":
		if t.Options == nil || !validHeaderName(t.Options.Name) {
			return edge.Invalid(field, "append_header needs options.name (a header name) and options.value")
		}
		if _, err := expr.Scan([]byte(t.Options.Value), expr.Header, nil); err != nil {
			return edge.Invalid(field, "options.value: "+edge.ExprDetail(err))
		}
	default:
		return edge.Invalid(field, "unknown transform type")
	}
	return nil
}

func validHeaderName(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return !strings.HasPrefix(strings.ToLower(n), "bt-")
}

// applyProxyRequest validates req and applies it to p (create, replace or merge).
func (s *Server) applyProxyRequest(c *edge.Call, p *proxyConfig, req *proxyRequest) error {
	if req.Name != nil {
		p.Name = *req.Name
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 {
		return edge.Invalid("name", "is required (at most 200 bytes)")
	}
	if req.DestinationURL != nil {
		p.DestinationURL = *req.DestinationURL
	}
	if _, err := s.policy.CheckURL(p.DestinationURL); err != nil {
		return edge.Invalid("destination_url", "is not an allowed destination: "+egress.Detail(err))
	}
	if req.RequestTransform != nil {
		req.RequestTransforms = append([]transform{*req.RequestTransform}, req.RequestTransforms...)
	}
	if req.ResponseTransform != nil {
		req.ResponseTransforms = append([]transform{*req.ResponseTransform}, req.ResponseTransforms...)
	}
	if req.RequestTransforms != nil {
		p.RequestTransforms = req.RequestTransforms
	}
	if req.ResponseTransforms != nil {
		p.ResponseTransforms = req.ResponseTransforms
	}
	if len(p.RequestTransforms)+len(p.ResponseTransforms) > 16 {
		return edge.Invalid("request_transforms", "at most 16 transforms in all")
	}
	for i := range p.RequestTransforms {
		if err := s.validateTransform(c, &p.RequestTransforms[i], "request_transforms"); err != nil {
			return err
		}
	}
	for i := range p.ResponseTransforms {
		if err := s.validateTransform(c, &p.ResponseTransforms[i], "response_transforms"); err != nil {
			return err
		}
	}
	if req.Configuration != nil {
		if len(req.Configuration) > 100 {
			return edge.Invalid("configuration", "at most 100 entries")
		}
		for k, v := range req.Configuration {
			if !expr.ValidID([]byte(k)) || len(v) > 8192 {
				return edge.Invalid("configuration", "names are letters, digits, '_' or '-'; values at most 8 KiB")
			}
		}
		p.Configuration = req.Configuration
	}
	if req.RequireAuth != nil {
		p.RequireAuth = *req.RequireAuth
	}
	if req.Timeout != nil {
		if *req.Timeout < 0 || *req.Timeout > 300 {
			return edge.Invalid("timeout", "seconds between 0 (default) and 300")
		}
		p.Timeout = *req.Timeout
	}
	if req.DisableDetokenization != nil {
		p.DisableDetokenization = *req.DisableDetokenization
	}
	// A proxy acts as the application that last configured it. Only the bootstrap admin may name
	// another application (which must exist): anyone else could lend a proxy rights they lack.
	p.ApplicationID = c.Who.AppID
	if req.ApplicationID != nil && *req.ApplicationID != c.Who.AppID {
		if c.Who.AppID != edge.AdminActor {
			return edge.Invalid("application_id", "only the admin key may set application_id")
		}
		if *req.ApplicationID != edge.AdminActor {
			if _, err := s.store.GetApplication(c.RC, *req.ApplicationID); err != nil {
				return edge.Invalid("application_id", "names no application")
			}
		}
		p.ApplicationID = *req.ApplicationID
	}
	return nil
}

func (s *Server) saveProxy(c *edge.Call, p *proxyConfig, create bool, op string) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := s.store.Put(c.RC, store.Proxies, p.ID, doc, create, s.event(c, "proxy", p.ID, op)); err != nil {
		return err
	}
	s.prepareProxy(p)
	s.proxies.put(p)
	return nil
}

// prepareProxy computes what invocation needs from the stored configuration.
func (s *Server) prepareProxy(p *proxyConfig) {
	u, err := s.policy.CheckURL(p.DestinationURL)
	if err != nil {
		p.destErr = edge.Invalid("destination_url", "the destination is not allowed: "+egress.Detail(err))
		return
	}
	p.basePath = strings.TrimRight(u.EscapedPath(), "/")
	p.hostMemo = destinationHostMemo(p.DestinationURL)
}

func (s *Server) createProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyCreate, "proxy:create"); err != nil {
		return err
	}
	var req proxyRequest
	if err := edge.DecodeJSON(c.RC, s.cfg.Limits.APIBodyBytes, &req); err != nil {
		return err
	}
	p := &proxyConfig{ID: edge.NewID(), Key: edge.NewAPIKey(), RequireAuth: true, CreatedBy: c.Who.AppID, CreatedAt: s.now().UTC()}
	if err := s.applyProxyRequest(c, p, &req); err != nil {
		return err
	}
	if err := s.saveProxy(c, p, true, "create"); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, proxyView(p))
}

// proxyView is what the API shows of a proxy: everything, lists never null.
func proxyView(p *proxyConfig) *proxyConfig {
	v := *p
	if v.RequestTransforms == nil {
		v.RequestTransforms = []transform{}
	}
	if v.ResponseTransforms == nil {
		v.ResponseTransforms = []transform{}
	}
	if v.Configuration == nil {
		v.Configuration = map[string]string{}
	}
	return &v
}

func (s *Server) listProxies(c *edge.Call) error {
	if err := c.Require(edge.PermProxyRead, "proxy:read"); err != nil {
		return err
	}
	ps := s.proxies.list()
	out := make([]*proxyConfig, 0, len(ps))
	for _, p := range ps {
		out = append(out, proxyView(p))
	}
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{
		"pagination": map[string]any{"total_items": len(out), "page_size": len(out)}, "data": out})
}

func (s *Server) getProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyRead, "proxy:read"); err != nil {
		return err
	}
	p := s.proxies.get(c.ID)
	if p == nil {
		return edge.ErrNotFound
	}
	return edge.WriteJSON(c.RC, http.StatusOK, proxyView(p))
}

func (s *Server) updateProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyUpdate, "proxy:update"); err != nil {
		return err
	}
	old := s.proxies.get(c.ID)
	if old == nil {
		return edge.ErrNotFound
	}
	var req proxyRequest
	if err := edge.DecodeJSON(c.RC, s.cfg.Limits.APIBodyBytes, &req); err != nil {
		return err
	}
	return s.replaceProxy(c, old, &req)
}

// replaceProxy saves old rebuilt from req: a fresh proxy that keeps identity, key, creation and
// application (PUT gives every field; PATCH gives the old fields merged with the patch).
func (s *Server) replaceProxy(c *edge.Call, old *proxyConfig, req *proxyRequest) error {
	p := &proxyConfig{ID: old.ID, Key: old.Key, RequireAuth: true, CreatedBy: old.CreatedBy, CreatedAt: old.CreatedAt, ApplicationID: old.ApplicationID}
	if err := s.applyProxyRequest(c, p, req); err != nil {
		return err
	}
	now := s.now().UTC()
	p.ModifiedAt = &now
	if err := s.saveProxy(c, p, false, "update"); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, proxyView(p))
}

// patchProxy applies an RFC 7396 merge patch; the Content-Type must say so (else 415).
func (s *Server) patchProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyUpdate, "proxy:update"); err != nil {
		return err
	}
	if ct := c.RC.Request.Header.ContentType(); !bytes.HasPrefix(ct, []byte("application/merge-patch+json")) {
		return edge.NewProblem(http.StatusUnsupportedMediaType, "PATCH /proxies needs Content-Type: application/merge-patch+json")
	}
	old := s.proxies.get(c.ID)
	if old == nil {
		return edge.ErrNotFound
	}
	body, err := edge.ReadBody(c.RC, s.cfg.Limits.APIBodyBytes)
	if err != nil {
		return err
	}
	if !json.Valid(body) {
		return edge.ErrMalformedJSON
	}
	cur, _ := json.Marshal(old)
	merged, err := edge.MergePatch(cur, body)
	if err != nil {
		return edge.ErrMalformedJSON
	}
	var req proxyRequest
	if err := edge.DecodeStrict(merged, &req); err != nil {
		return err
	}
	return s.replaceProxy(c, old, &req)
}

func (s *Server) deleteProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyDelete, "proxy:delete"); err != nil {
		return err
	}
	if err := s.store.Delete(c.RC, store.Proxies, c.ID, s.event(c, "proxy", c.ID, "delete")); err != nil {
		return err
	}
	s.proxies.remove(c.ID)
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}
