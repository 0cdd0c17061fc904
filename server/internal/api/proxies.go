package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/proxy"
	"github.com/sluice-edge/sluice/store"
)

// proxyRequest is the body of POST/PUT /proxies (and, as a merge patch, PATCH).
type proxyRequest struct {
	Name                  *string           `json:"name"`
	DestinationURL        *string           `json:"destination_url"`
	RequestTransforms     []proxy.Transform `json:"request_transforms"`
	ResponseTransforms    []proxy.Transform `json:"response_transforms"`
	RequestTransform      *proxy.Transform  `json:"request_transform"`
	ResponseTransform     *proxy.Transform  `json:"response_transform"`
	Configuration         map[string]string `json:"configuration"`
	RequireAuth           *bool             `json:"require_auth"`
	Timeout               *float64          `json:"timeout"`
	DisableDetokenization *bool             `json:"disable_detokenization"`
	ApplicationID         *string           `json:"application_id"`
	Application           *appRef           `json:"application"`
	ClientCertificate     *string           `json:"client_certificate"`
}

// validateTransform checks one transform; field names the list it is in.
func (s *API) validateTransform(c *edge.Call, t *proxy.Transform, field string) error {
	switch {
	case t.Type == "wasm":
		return s.validateWasmTransform(c, t, field)
	case t.IsCode():
		return s.validateCodeTransform(c, t, field)
	}
	return proxy.ValidateDeclarative(t, field)
}

// validateCodeTransform checks Basis Theory's {"type": "code", "code"} (type may be absent):
// code is the base64 of a module, compiled and kept like an upload, or sha256:<hex> of an
// uploaded one. The transform keeps type "code" and names its module in code, as Basis Theory
// shows it, so that what GET answers can be sent back as is.
func (s *API) validateCodeTransform(c *edge.Call, t *proxy.Transform, field string) error {
	if t.Code == "" {
		return edge.Invalid(field, "unknown transform type")
	}
	t.Type = "code"
	if strings.HasPrefix(t.Code, "sha256:") {
		t.ModuleID = t.Code
		t.Code = ""
	} else if t.ModuleID != "" {
		return edge.Invalid(field, "a code transform gives code or module_id, not both")
	}
	if err := s.validateWasmTransform(c, t, field); err != nil {
		return err
	}
	t.Code = t.ModuleID
	return nil
}

// proxyApplication is the application the proxy acts as, and whether it was named with Basis
// Theory's "application" (the proxy then acts as it whoever invokes it). Naming one needs the
// same as a reactor's: it exists and the caller holds everything it holds — else a proxy:create
// holder could lend itself a stronger application's rights. Without a name the proxy acts, when
// invoked without a key, as whoever configured it last.
func (s *API) proxyApplication(c *edge.Call, req *proxyRequest) (id string, named bool, err error) {
	if req.Application != nil && req.Application.ID != "" {
		id, err = s.reactorApplication(c, req.Application)
		return id, true, err
	}
	if req.ApplicationID != nil && *req.ApplicationID != "" && *req.ApplicationID != c.Who.AppID {
		id, err = s.reactorApplication(c, &appRef{ID: *req.ApplicationID})
		return id, false, err
	}
	return c.Who.AppID, false, nil
}

// applyProxyRequest validates req and applies it to p (create, replace or merge).
func (s *API) applyProxyRequest(c *edge.Call, p *proxy.Definition, req *proxyRequest) error {
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
		req.RequestTransforms = append([]proxy.Transform{*req.RequestTransform}, req.RequestTransforms...)
	}
	if req.ResponseTransform != nil {
		req.ResponseTransforms = append([]proxy.Transform{*req.ResponseTransform}, req.ResponseTransforms...)
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
	if err := proxy.ValidateLists(p.RequestTransforms, p.ResponseTransforms); err != nil {
		return err
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
	if req.ClientCertificate != nil {
		if *req.ClientCertificate != "" {
			if _, err := proxy.ParseClientCertificate(*req.ClientCertificate); err != nil {
				return err
			}
		}
		p.ClientCertificate = *req.ClientCertificate
	}
	appID, named, err := s.proxyApplication(c, req)
	if err != nil {
		return err
	}
	p.ApplicationID, p.Application = appID, nil
	if named {
		p.Application = &proxy.AppRef{ID: appID}
	}
	return nil
}

func (s *API) saveProxy(c *edge.Call, p *proxy.Definition, create bool, op string) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := s.store.Put(c.RC, store.Proxies, p.ID, doc, create, s.event(c, "proxy", p.ID, op)); err != nil {
		return err
	}
	s.proxy.Install(p)
	return nil
}

func (s *API) CreateProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyCreate, "proxy:create"); err != nil {
		return err
	}
	var req proxyRequest
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	p := &proxy.Definition{ID: edge.NewID(), Key: edge.NewAPIKey(), RequireAuth: true, CreatedBy: c.Who.AppID, CreatedAt: s.now().UTC()}
	if err := s.applyProxyRequest(c, p, &req); err != nil {
		return err
	}
	if err := s.saveProxy(c, p, true, "create"); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, proxyView(p))
}

// proxyView is what the API shows of a proxy: everything but the client certificate's private
// key, lists never null.
func proxyView(p *proxy.Definition) *proxy.Definition {
	v := *p
	if v.RequestTransforms == nil {
		v.RequestTransforms = []proxy.Transform{}
	}
	if v.ResponseTransforms == nil {
		v.ResponseTransforms = []proxy.Transform{}
	}
	if v.Configuration == nil {
		v.Configuration = map[string]string{}
	}
	v.ClientCertificate = p.ClientCertificateView() // the certificate, never its private key
	v.State, v.TenantID = "active", edge.TenantID
	v.RequestTransforms, v.ResponseTransforms = codeAsShown(v.RequestTransforms), codeAsShown(v.ResponseTransforms)
	return &v
}

// codeAsShown is list with its code transforms as Basis Theory shows them: type and code (the
// module's id), without Sluice's module_id. list is not changed.
func codeAsShown(list []proxy.Transform) []proxy.Transform {
	out := list
	for i := range list {
		if list[i].Type == "code" && list[i].ModuleID != "" {
			if &out[0] == &list[0] {
				out = slices.Clone(list)
			}
			out[i].ModuleID = ""
		}
	}
	return out
}

func (s *API) ListProxies(c *edge.Call) error {
	if err := c.Require(edge.PermProxyRead, "proxy:read"); err != nil {
		return err
	}
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	docs, total, err := s.store.DocumentsPage(c.RC, store.Proxies, q)
	if err != nil {
		return err
	}
	out := make([]*proxy.Definition, 0, len(docs))
	for _, d := range docs {
		var p proxy.Definition
		err := json.Unmarshal(d, &p)
		clear(d)
		if err != nil {
			return err
		}
		out = append(out, proxyView(&p))
	}
	return writeOffsetPage(c, q, total, out)
}

func (s *API) GetProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyRead, "proxy:read"); err != nil {
		return err
	}
	p := s.proxy.Get(c.ID)
	if p == nil {
		return edge.ErrNotFound
	}
	return edge.WriteJSON(c.RC, http.StatusOK, proxyView(p))
}

func (s *API) UpdateProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyUpdate, "proxy:update"); err != nil {
		return err
	}
	old := s.proxy.Get(c.ID)
	if old == nil {
		return edge.ErrNotFound
	}
	var req proxyRequest
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	return s.replaceProxy(c, old, &req)
}

// replaceProxy saves old rebuilt from req: a fresh proxy that keeps identity, key and creation
// (PUT gives every field; PATCH gives the old fields merged with the patch, its application
// included, which is checked against the updater again).
func (s *API) replaceProxy(c *edge.Call, old *proxy.Definition, req *proxyRequest) error {
	p := &proxy.Definition{ID: old.ID, Key: old.Key, RequireAuth: true, CreatedBy: old.CreatedBy, CreatedAt: old.CreatedAt}
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
func (s *API) PatchProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyUpdate, "proxy:update"); err != nil {
		return err
	}
	if ct := c.RC.Request.Header.ContentType(); !bytes.HasPrefix(ct, []byte("application/merge-patch+json")) {
		return edge.NewProblem(http.StatusUnsupportedMediaType, "PATCH /proxies needs Content-Type: application/merge-patch+json")
	}
	old := s.proxy.Get(c.ID)
	if old == nil {
		return edge.ErrNotFound
	}
	body, err := edge.ReadBody(c.RC, s.opt.APIBodyBytes)
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

func (s *API) DeleteProxy(c *edge.Call) error {
	if err := c.Require(edge.PermProxyDelete, "proxy:delete"); err != nil {
		return err
	}
	if err := s.store.Delete(c.RC, store.Proxies, c.ID, s.event(c, "proxy", c.ID, "delete")); err != nil {
		return err
	}
	s.proxy.Remove(c.ID)
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}
