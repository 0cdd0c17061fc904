package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/proxy"
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

// StartTransforms starts the WebAssembly engine with cfg and compiles every module stored in
// st (a module that no longer compiles is logged and skipped).
func StartTransforms(ctx context.Context, st store.Store, log *slog.Logger, cfg transforms.Config) (*transforms.Engine, error) {
	eng, err := transforms.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	docs, err := st.List(ctx, store.Transforms)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		var r moduleRecord
		if err := json.Unmarshal(d, &r); err != nil {
			return nil, err
		}
		if _, err := eng.Compile(ctx, r.Code); err != nil {
			log.Error("stored transform no longer compiles", "module_id", r.ID, "error", err.Error())
		}
	}
	return eng, nil
}

// moduleRole is what a module is uploaded to be: each needs its own entry point.
type moduleRole int

const (
	roleTransform moduleRole = iota // sluice_on_request and/or sluice_on_response
	roleReactor                     // sluice_on_react
)

// check refuses a module that lacks the role's entry point (422, before it is stored).
func (r moduleRole) check(info transforms.Info) error {
	switch {
	case r == roleTransform && !info.Transform():
		return edge.NewProblem(http.StatusUnprocessableEntity, "a transform must export sluice_on_request or sluice_on_response")
	case r == roleReactor && !info.Reactor():
		return edge.NewProblem(http.StatusUnprocessableEntity, "a reactor must export sluice_on_react")
	}
	return nil
}

// installModule compiles wasm, checks it can play role and keeps it in the vault; the same
// bytes give the same record.
func (s *API) installModule(c *edge.Call, wasm []byte, role moduleRole) (*moduleRecord, error) {
	if int64(len(wasm)) > s.opt.ModuleBytes {
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
	if err := role.check(info); err != nil {
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

func (s *API) CreateTransform(c *edge.Call) error {
	if err := c.Require(edge.PermTransformCreate, "transform:create"); err != nil {
		return err
	}
	if ct := c.RC.Request.Header.ContentType(); !bytes.HasPrefix(ct, []byte("application/wasm")) {
		return edge.NewProblem(http.StatusUnsupportedMediaType, "upload the module with Content-Type: application/wasm")
	}
	wasm, err := edge.ReadBody(c.RC, s.opt.ModuleBytes)
	if err != nil {
		return err
	}
	r, err := s.installModule(c, bytes.Clone(wasm), roleTransform)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, r.view())
}

func (s *API) ListTransforms(c *edge.Call) error {
	if err := c.Require(edge.PermTransformRead, "transform:read"); err != nil {
		return err
	}
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	docs, total, err := s.store.DocumentsPage(c.RC, store.Transforms, q)
	if err != nil {
		return err
	}
	out := make([]moduleView, 0, len(docs))
	for _, d := range docs {
		var r moduleRecord
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		out = append(out, r.view())
	}
	return writeOffsetPage(c, q, total, out)
}

func (s *API) GetTransform(c *edge.Call) error {
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

func (s *API) DeleteTransform(c *edge.Call) error {
	if err := c.Require(edge.PermTransformDelete, "transform:delete"); err != nil {
		return err
	}
	for _, p := range s.proxy.List() {
		for _, ts := range [][]proxy.Transform{p.RequestTransforms, p.ResponseTransforms} {
			for _, t := range ts {
				if t.IsCode() && t.ModuleID == c.ID {
					return edge.NewProblem(http.StatusConflict, "the module is used by proxy "+p.ID)
				}
			}
		}
	}
	if id, err := s.reactorUsing(c, c.ID); err != nil || id != "" {
		if err != nil {
			return err
		}
		return edge.NewProblem(http.StatusConflict, "the module is used by reactor "+id)
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
func (s *API) validateWasmTransform(c *edge.Call, t *proxy.Transform, field string) error {
	if t.Code != "" {
		wasm, err := base64.StdEncoding.DecodeString(t.Code)
		if err != nil {
			return edge.Invalid(field, "code must be the base64 of a WebAssembly module")
		}
		if c == nil {
			return edge.Invalid(field, "inline code is not accepted here")
		}
		r, err := s.installModule(c, wasm, roleTransform)
		if err != nil {
			return err
		}
		t.ModuleID, t.Code = r.ID, ""
	}
	info, ok := s.wasm.Info(t.ModuleID)
	if !ok {
		return edge.Invalid(field, "module_id names no uploaded module")
	}
	if !info.Transform() {
		return edge.Invalid(field, "module_id names a module without a transform entry point")
	}
	return nil
}
