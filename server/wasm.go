package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"path/filepath"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/transforms"
)

// WebAssembly transforms (SPEC §7): modules are uploaded to /transforms, compiled once (and again
// at start from the vault, with a compilation cache in the data dir), and run by package
// transforms from a pool of warm instances. This file is the glue: the API, the proxy transform
// type "wasm", and the Services a guest calls back into.

// moduleRecord is a module as kept in the vault.
type moduleRecord struct {
	ID        string    `json:"id"`
	Size      int       `json:"size"`
	Exports   []string  `json:"exports"`
	CreatedAt time.Time `json:"created_at"`
	Code      []byte    `json:"code"`
}

type moduleView struct {
	ID        string    `json:"id"`
	Size      int       `json:"size"`
	Exports   []string  `json:"exports"`
	CreatedAt time.Time `json:"created_at"`
}

func (r *moduleRecord) view() moduleView {
	return moduleView{ID: r.ID, Size: r.Size, Exports: r.Exports, CreatedAt: r.CreatedAt}
}

// initTransforms starts the engine and compiles every stored module.
func (s *Server) initTransforms() error {
	cacheDir := ""
	if s.cfg.DataDir != "" {
		cacheDir = filepath.Join(s.cfg.DataDir, "wasm-cache")
	}
	eng, err := transforms.New(context.Background(), transforms.Config{
		MemoryLimitPages: uint32(s.cfg.Transforms.MemoryBytes >> 16),
		CallTimeout:      s.cfg.Transforms.CallTimeout,
		PoolSize:         s.cfg.Transforms.PoolSize,
		MaxBodyBytes:     int(min(s.cfg.Limits.ProxyBodyBytes, math.MaxInt32)),
		MaxTokens:        s.cfg.Transforms.MaxTokensPerCall,
		CompileTimeout:   s.cfg.Transforms.CompileTimeout,
		CacheDir:         cacheDir,
	})
	if err != nil {
		return err
	}
	s.wasm = eng
	docs, err := s.store.List(s.ctx(), store.Transforms)
	if err != nil {
		return err
	}
	for _, d := range docs {
		var r moduleRecord
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if _, err := eng.Compile(context.Background(), r.Code); err != nil {
			s.log.Error("stored transform no longer compiles", "module_id", r.ID, "error", err.Error())
		}
	}
	return nil
}

// installModule compiles wasm and keeps it in the vault; the same bytes give the same record.
func (s *Server) installModule(c *edge.Call, wasm []byte) (*moduleRecord, error) {
	if int64(len(wasm)) > s.cfg.Limits.ModuleBytes {
		return nil, edge.ErrTooLarge
	}
	info, err := s.wasm.Compile(c.RC, wasm)
	if err != nil {
		if errors.Is(err, transforms.ErrInvalidModule) {
			return nil, edge.NewProblem(http.StatusUnprocessableEntity, err.Error())
		}
		if errors.Is(err, transforms.ErrBusy) {
			return nil, edge.NewProblem(http.StatusServiceUnavailable, "every compilation slot is taken; try again")
		}
		return nil, err
	}
	if d, err := s.store.Get(c.RC, store.Transforms, info.ID); err == nil {
		var r moduleRecord
		if json.Unmarshal(d, &r) == nil {
			return &r, nil
		}
	}
	r := &moduleRecord{ID: info.ID, Size: info.Size, Exports: info.Exports, CreatedAt: s.now().UTC(), Code: wasm}
	doc, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	err = s.store.Put(c.RC, store.Transforms, r.ID, doc, true, s.event(c, "transform", r.ID, "create"))
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	return r, nil
}

func (s *Server) createTransform(c *edge.Call) error {
	if err := c.Require(edge.PermTransformCreate, "transform:create"); err != nil {
		return err
	}
	if ct := c.RC.Request.Header.ContentType(); !bytes.HasPrefix(ct, []byte("application/wasm")) {
		return edge.NewProblem(http.StatusUnsupportedMediaType, "upload the module with Content-Type: application/wasm")
	}
	wasm, err := edge.ReadBody(c.RC, s.cfg.Limits.ModuleBytes)
	if err != nil {
		return err
	}
	r, err := s.installModule(c, bytes.Clone(wasm))
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, r.view())
}

func (s *Server) listTransforms(c *edge.Call) error {
	if err := c.Require(edge.PermTransformRead, "transform:read"); err != nil {
		return err
	}
	docs, err := s.store.List(c.RC, store.Transforms)
	if err != nil {
		return err
	}
	out := []moduleView{}
	for _, d := range docs {
		var r moduleRecord
		if json.Unmarshal(d, &r) == nil {
			out = append(out, r.view())
		}
	}
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{"pagination": map[string]any{"total_items": len(out), "page_size": len(out)}, "data": out})
}

func (s *Server) getTransform(c *edge.Call) error {
	if err := c.Require(edge.PermTransformRead, "transform:read"); err != nil {
		return err
	}
	d, err := s.store.Get(c.RC, store.Transforms, c.ID)
	if err != nil {
		return err
	}
	var r moduleRecord
	if err := json.Unmarshal(d, &r); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, r.view())
}

func (s *Server) deleteTransform(c *edge.Call) error {
	if err := c.Require(edge.PermTransformDelete, "transform:delete"); err != nil {
		return err
	}
	for _, p := range s.proxies.list() {
		for _, ts := range [][]transform{p.RequestTransforms, p.ResponseTransforms} {
			for _, t := range ts {
				if t.Type == "wasm" && t.ModuleID == c.ID {
					return edge.NewProblem(http.StatusConflict, "the module is used by proxy "+p.ID)
				}
			}
		}
	}
	if err := s.store.Delete(c.RC, store.Transforms, c.ID, s.event(c, "transform", c.ID, "delete")); err != nil {
		return err
	}
	s.wasm.Remove(c.ID)
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}

// validateWasmTransform checks a {"type":"wasm"} transform on a proxy. Inline code is compiled
// and kept like an upload, and the transform then names it by module_id.
func (s *Server) validateWasmTransform(c *edge.Call, t *transform, field string) error {
	if t.Code != "" {
		wasm, err := base64.StdEncoding.DecodeString(t.Code)
		if err != nil {
			return edge.Invalid(field, "code must be the base64 of a WebAssembly module")
		}
		if c == nil {
			return edge.Invalid(field, "inline code is not accepted here")
		}
		r, err := s.installModule(c, wasm)
		if err != nil {
			return err
		}
		t.ModuleID, t.Code = r.ID, ""
	}
	if !s.wasm.Has(t.ModuleID) {
		return edge.Invalid(field, "module_id names no uploaded module")
	}
	return nil
}

var (
	errGuestPathEscapes   = edge.NewProblem(http.StatusInternalServerError, "the transform set a path that leaves the destination's base path")
	errGuestInformational = edge.NewProblem(http.StatusInternalServerError, "the transform answered with an informational (1xx) status")
)

// guestError is how a guest that ended the exchange answers: a standard error (wrapped in
// proxy_error, messages in errors.error) or a custom response (returned exactly).
type guestError struct {
	outcome transforms.Outcome
}

func (g *guestError) Error() string { return "server: the transform ended the exchange" }

// runWasmTransform runs a module on the message and applies what it replaced.
func (s *Server) runWasmTransform(x *exchange, t *transform, m *message, req *fasthttp.Request, resp *fasthttp.Response) error {
	ex := transforms.AcquireExchange()
	defer transforms.ReleaseExchange(ex)
	x.guest = guestServices{s: s, x: x}
	ex.Body, ex.Services = m.body, &x.guest
	if x.px != nil {
		ex.Config = x.px.Configuration
	}
	var run func(context.Context, string, *transforms.Exchange) (transforms.Outcome, error)
	if req != nil {
		// The guest sees the path after /proxy (ABI.md); the destination's base path is ours.
		ex.Method, ex.Path, ex.Query = req.Header.Method(), x.restPath, req.URI().QueryString()
		for k, v := range req.Header.All() {
			ex.AddHeader(k, v)
		}
		run = s.wasm.OnRequest
	} else {
		ex.Status = resp.StatusCode()
		for k, v := range resp.Header.All() {
			ex.AddHeader(k, v)
		}
		run = s.wasm.OnResponse
	}
	start := time.Now()
	out, err := run(x.c.RC, t.ModuleID, ex)
	took := time.Since(start)
	switch {
	case err != nil:
		s.metrics.Transformed(took, obs.TransformFailed)
		s.log.Warn("transform failed", "module_id", t.ModuleID, "request_id", string(x.c.ReqID))
		return edge.NewProblem(http.StatusInternalServerError, "the transform failed (trap, time or memory limit)")
	case out.Ended && out.Kind == transforms.CustomHTTPResponse && out.Status < 200:
		// An informational status would leave the caller's connection in another protocol or
		// waiting for a final answer that never comes.
		s.metrics.Transformed(took, obs.TransformFailed)
		return errGuestInformational
	case out.Ended:
		s.metrics.Transformed(took, obs.TransformEnded)
		g := &guestError{outcome: out}
		g.outcome.Messages = append([]string(nil), out.Messages...)
		g.outcome.Body = bytes.Clone(out.Body)
		g.outcome.Headers = nil
		for _, h := range out.Headers {
			g.outcome.Headers = append(g.outcome.Headers, transforms.Header{Name: bytes.Clone(h.Name), Value: bytes.Clone(h.Value)})
		}
		return g
	}
	s.metrics.Transformed(took, obs.TransformOK)
	changed := ex.Changed()
	if changed.Has(transforms.PartBody) {
		m.body = bytes.Clone(ex.Body)
	}
	if req != nil {
		if changed.Has(transforms.PartPath) {
			// The guest's path stays under the destination's base path, as the caller's must.
			if len(ex.Path) > 0 && ex.Path[0] != '/' || checkRestPath(ex.Path) != nil {
				return errGuestPathEscapes
			}
			req.URI().SetPath(x.basePath + string(ex.Path))
		}
		if changed.Has(transforms.PartQuery) {
			req.URI().SetQueryStringBytes(ex.Query)
		}
		if changed.Has(transforms.PartHeaders) {
			replaceRequestHeaders(x, &req.Header, ex.Headers)
		}
		return nil
	}
	if changed.Has(transforms.PartStatus) {
		if ex.Status < 200 {
			return errGuestInformational
		}
		resp.SetStatusCode(ex.Status)
	}
	if changed.Has(transforms.PartHeaders) {
		replaceResponseHeaders(&resp.Header, ex.Headers)
	}
	return nil
}

func replaceRequestHeaders(x *exchange, h *fasthttp.RequestHeader, hs []transforms.Header) {
	// Method and URI survive the Reset in the exchange's scratch (no allocation once warm).
	x.keep = append(append(x.keep[:0], h.Method()...), h.RequestURI()...)
	method, uri := x.keep[:len(h.Method())], x.keep[len(h.Method()):]
	h.Reset()
	h.SetMethodBytes(method)
	h.SetRequestURIBytes(uri)
	for _, kv := range hs {
		if !skipForward(kv.Name) {
			h.AddBytesKV(kv.Name, kv.Value)
		}
	}
}

func replaceResponseHeaders(h *fasthttp.ResponseHeader, hs []transforms.Header) {
	status := h.StatusCode()
	h.Reset()
	h.SetStatusCode(status)
	for _, kv := range hs {
		if bytes.EqualFold(kv.Name, []byte("Content-Length")) {
			continue
		}
		h.AddBytesKV(kv.Name, kv.Value)
	}
}

// writeGuestError answers as the guest asked.
func writeGuestError(rc *fasthttp.RequestCtx, g *guestError) {
	o := g.outcome
	if o.Kind == transforms.CustomHTTPResponse {
		rc.Response.Reset()
		rc.SetStatusCode(o.Status)
		for _, h := range o.Headers {
			rc.Response.Header.AddBytesKV(h.Name, h.Value)
		}
		rc.SetBody(o.Body)
		return
	}
	p := edge.NewProblem(o.Status, o.Kind.String())
	msgs := o.Messages
	if len(msgs) == 0 {
		msgs = []string{o.Kind.String()}
	}
	p.Errors = map[string][]string{"error": msgs}
	edge.WriteProblem(rc, p, true)
}

// guestServices is what a guest can ask of the edge during one call.
type guestServices struct {
	s *Server
	x *exchange
}

// Tokenize vaults data as a new token with the invoking application's permissions.
func (g *guestServices) Tokenize(ctx context.Context, tokenType string, data []byte) (string, error) {
	tok, _, err := g.s.vault.Create(ctx, g.x.c.Who, &vault.Request{Type: &tokenType, Data: bytes.Clone(data)}, nil)
	switch {
	case err == nil:
		return tok.ID, nil
	case errors.Is(err, vault.ErrMayNotCreate):
		return "", errors.New("the application lacks the token:create permission")
	case errors.Is(err, vault.ErrUnknownType):
		return "", errors.New("unknown token type")
	case errors.Is(err, vault.ErrCreateOutsideContainers):
		return "", errors.New("the application may not create tokens in this type's containers")
	case errors.Is(err, vault.ErrInvalidData):
		return "", errors.New("the data is not a valid " + tokenType)
	}
	return "", errors.New("the vault refused the token")
}

// Log drops what the guest wrote: a transform sees detokenized data, and no log line may hold
// plaintext. Only the fact and the size are recorded.
func (g *guestServices) Log(msg []byte) {
	g.s.log.Debug("transform log line (content not recorded)", "bytes", len(msg))
}
