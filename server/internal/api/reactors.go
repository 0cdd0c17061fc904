package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Reactors (SPEC §7): a WebAssembly module exporting sluice_on_react, with a name, a
// configuration and optionally the application whose rules its args are detokenized with. The
// module lives with the transforms (one compiled copy per distinct module); a reactor is a
// document in the vault that names it. React is in react.go.

// reactorRecord is a reactor as kept in the vault (sealed: configurations hold secrets).
type reactorRecord struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	ModuleID      string            `json:"module_id"`
	Configuration map[string]string `json:"configuration"`
	ApplicationID string            `json:"application_id,omitempty"`
	Runtime       json.RawMessage   `json:"runtime,omitempty"`
	CreatedBy     string            `json:"created_by"`
	CreatedAt     time.Time         `json:"created_at"`
	ModifiedBy    string            `json:"modified_by,omitempty"`
	ModifiedAt    *time.Time        `json:"modified_at,omitempty"`
}

// appRef names an application, as Basis Theory's reactor object does.
type appRef struct {
	ID string `json:"id"`
}

// reactorView is a reactor in Basis Theory's shape. code names the module by its id, which a
// PUT or PATCH accepts back.
type reactorView struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	Code          string            `json:"code"`
	Configuration map[string]string `json:"configuration"`
	Application   *appRef           `json:"application,omitempty"`
	Runtime       json.RawMessage   `json:"runtime,omitempty"`
	State         string            `json:"state"`
	CreatedBy     string            `json:"created_by"`
	CreatedAt     time.Time         `json:"created_at"`
	ModifiedBy    string            `json:"modified_by,omitempty"`
	ModifiedAt    *time.Time        `json:"modified_at,omitempty"`
}

func (r *reactorRecord) view() *reactorView {
	v := &reactorView{ID: r.ID, TenantID: edge.TenantID, Name: r.Name, Code: r.ModuleID, Configuration: r.Configuration,
		Runtime: r.Runtime, State: "active", CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		ModifiedBy: r.ModifiedBy, ModifiedAt: r.ModifiedAt}
	if v.Configuration == nil {
		v.Configuration = map[string]string{}
	}
	if r.ApplicationID != "" {
		v.Application = &appRef{ID: r.ApplicationID}
	}
	return v
}

// reactorRequest is the body of POST and PUT /reactors (and, merged, of PATCH).
type reactorRequest struct {
	Name          *string           `json:"name"`
	Code          *string           `json:"code"`
	Configuration map[string]string `json:"configuration"`
	Application   *appRef           `json:"application"`
	Runtime       json.RawMessage   `json:"runtime"`
}

// applyReactorRequest validates req and makes r what it describes (every field: create and
// replace; PATCH merges first). The module is compiled and kept only once the rest is valid.
func (s *API) applyReactorRequest(c *edge.Call, r *reactorRecord, req *reactorRequest) error {
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" || len(*req.Name) > 200 {
		return edge.Invalid("name", "is required (at most 200 bytes)")
	}
	if req.Code == nil || *req.Code == "" {
		return edge.Invalid("code", "is required: the base64 of a WebAssembly module, or sha256:<hex> of an uploaded one")
	}
	if err := checkConfiguration(req.Configuration); err != nil {
		return err
	}
	if rt := bytes.TrimSpace(req.Runtime); len(rt) > 0 && !bytes.Equal(rt, []byte("null")) && rt[0] != '{' {
		return edge.Invalid("runtime", "must be an object")
	}
	appID, err := s.reactorApplication(c, req.Application)
	if err != nil {
		return err
	}
	moduleID, err := s.reactorModule(c, *req.Code)
	if err != nil {
		return err
	}
	r.Name, r.ModuleID, r.Configuration, r.ApplicationID = *req.Name, moduleID, req.Configuration, appID
	r.Runtime = nil
	if rt := bytes.TrimSpace(req.Runtime); len(rt) > 0 && !bytes.Equal(rt, []byte("null")) {
		r.Runtime = bytes.Clone(rt)
	}
	return nil
}

// checkConfiguration applies the rules of a proxy's configuration.
func checkConfiguration(cfg map[string]string) error {
	if len(cfg) > 100 {
		return edge.Invalid("configuration", "at most 100 entries")
	}
	for k, v := range cfg {
		if !expr.ValidID([]byte(k)) || len(v) > 8192 {
			return edge.Invalid("configuration", "names are letters, digits, '_' or '-'; values at most 8 KiB")
		}
	}
	return nil
}

// reactorApplication checks the application a reactor is to act as: it must exist, and the
// caller must hold everything it holds (naming it would otherwise lend the caller its rights).
func (s *API) reactorApplication(c *edge.Call, ref *appRef) (string, error) {
	if ref == nil || ref.ID == "" {
		return "", nil
	}
	if ref.ID == edge.AdminActor {
		if c.Who.AppID != edge.AdminActor {
			return "", edge.Invalid("application", "only the admin key may name the admin")
		}
		return ref.ID, nil
	}
	app, err := s.store.GetApplication(c.RC, ref.ID)
	if err != nil {
		return "", edge.Invalid("application", "names no application")
	}
	if err := c.Who.MayManage(app); err != nil {
		return "", err
	}
	return app.ID, nil
}

// reactorModule is the id of the module code names: sha256:<hex> of an uploaded module, or the
// base64 of one (compiled and kept like an upload). Either must export sluice_on_react (422).
func (s *API) reactorModule(c *edge.Call, code string) (string, error) {
	if strings.HasPrefix(code, "sha256:") {
		info, ok := s.wasm.Info(code)
		if !ok {
			return "", edge.Invalid("code", "names no uploaded module")
		}
		if err := roleReactor.check(info); err != nil {
			return "", err
		}
		return info.ID, nil
	}
	wasm, err := base64.StdEncoding.DecodeString(code)
	if err != nil {
		return "", edge.Invalid("code", "must be the base64 of a WebAssembly module, or sha256:<hex> of an uploaded one")
	}
	m, err := s.installModule(c, wasm, roleReactor)
	if err != nil {
		return "", err
	}
	return m.ID, nil
}

// reactorBodyBytes bounds a reactor's JSON: its code may be a whole module in base64 (a third
// larger than the module), which Basis Theory's SDK sends inline.
func (s *API) reactorBodyBytes() int64 {
	return max(s.opt.APIBodyBytes, s.opt.ModuleBytes/3*4+64<<10)
}

func (s *API) loadReactor(c *edge.Call, id string) (*reactorRecord, error) {
	d, err := s.store.Get(c.RC, store.Reactors, id)
	if err != nil {
		return nil, err
	}
	var r reactorRecord
	if err := json.Unmarshal(d, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *API) saveReactor(c *edge.Call, r *reactorRecord, create bool, op string) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.store.Put(c.RC, store.Reactors, r.ID, doc, create, s.event(c, "reactor", r.ID, op))
}

func (s *API) CreateReactor(c *edge.Call) error {
	if err := c.Require(edge.PermReactorCreate, "reactor:create"); err != nil {
		return err
	}
	var req reactorRequest
	if err := edge.DecodeJSON(c.RC, s.reactorBodyBytes(), &req); err != nil {
		return err
	}
	r := &reactorRecord{ID: edge.NewID(), CreatedBy: c.Who.AppID, CreatedAt: s.now().UTC()}
	if err := s.applyReactorRequest(c, r, &req); err != nil {
		return err
	}
	if err := s.saveReactor(c, r, true, "create"); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, r.view())
}

func (s *API) GetReactor(c *edge.Call) error {
	if err := c.Require(edge.PermReactorRead, "reactor:read"); err != nil {
		return err
	}
	r, err := s.loadReactor(c, c.ID)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, r.view())
}

func (s *API) UpdateReactor(c *edge.Call) error {
	if err := c.Require(edge.PermReactorUpdate, "reactor:update"); err != nil {
		return err
	}
	old, err := s.loadReactor(c, c.ID)
	if err != nil {
		return err
	}
	var req reactorRequest
	if err := edge.DecodeJSON(c.RC, s.reactorBodyBytes(), &req); err != nil {
		return err
	}
	return s.replaceReactor(c, old, &req)
}

// PatchReactor applies an RFC 7396 merge patch to the reactor's fields (code as its module id).
func (s *API) PatchReactor(c *edge.Call) error {
	if err := c.Require(edge.PermReactorUpdate, "reactor:update"); err != nil {
		return err
	}
	if ct := c.RC.Request.Header.ContentType(); !bytes.HasPrefix(ct, []byte("application/merge-patch+json")) {
		return edge.NewProblem(http.StatusUnsupportedMediaType, "PATCH /reactors needs Content-Type: application/merge-patch+json")
	}
	old, err := s.loadReactor(c, c.ID)
	if err != nil {
		return err
	}
	body, err := edge.ReadBody(c.RC, s.reactorBodyBytes())
	if err != nil {
		return err
	}
	cur := reactorRequest{Name: &old.Name, Code: &old.ModuleID, Configuration: old.Configuration, Runtime: old.Runtime}
	if old.ApplicationID != "" {
		cur.Application = &appRef{ID: old.ApplicationID}
	}
	curDoc, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	merged, err := edge.MergePatch(curDoc, body)
	if err != nil {
		return edge.ErrMalformedJSON
	}
	var req reactorRequest
	if err := edge.DecodeStrict(merged, &req); err != nil {
		return err
	}
	return s.replaceReactor(c, old, &req)
}

// replaceReactor saves old rebuilt from req, keeping its identity and creation.
func (s *API) replaceReactor(c *edge.Call, old *reactorRecord, req *reactorRequest) error {
	r := &reactorRecord{ID: old.ID, CreatedBy: old.CreatedBy, CreatedAt: old.CreatedAt}
	if err := s.applyReactorRequest(c, r, req); err != nil {
		return err
	}
	now := s.now().UTC()
	r.ModifiedBy, r.ModifiedAt = c.Who.AppID, &now
	if err := s.saveReactor(c, r, false, "update"); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, r.view())
}

func (s *API) DeleteReactor(c *edge.Call) error {
	if err := c.Require(edge.PermReactorDelete, "reactor:delete"); err != nil {
		return err
	}
	if err := s.store.Delete(c.RC, store.Reactors, c.ID, s.event(c, "reactor", c.ID, "delete")); err != nil {
		return err
	}
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}

// ListReactors is the offset list of SPEC §2, filtered by id (repeatable) and name.
func (s *API) ListReactors(c *edge.Call) error {
	if err := c.Require(edge.PermReactorRead, "reactor:read"); err != nil {
		return err
	}
	page, size, err := offsetPage(c)
	if err != nil {
		return err
	}
	docs, err := s.store.List(c.RC, store.Reactors)
	if err != nil {
		return err
	}
	args := c.RC.QueryArgs()
	var ids []string
	for _, v := range args.PeekMulti("id") {
		ids = append(ids, string(v))
	}
	name := string(args.Peek("name"))
	all := make([]*reactorView, 0, len(docs))
	for _, d := range docs {
		var r reactorRecord
		if json.Unmarshal(d, &r) != nil || len(ids) > 0 && !slices.Contains(ids, r.ID) || name != "" && r.Name != name {
			continue
		}
		all = append(all, r.view())
	}
	// Oldest first, so that pages stay put while reactors are added.
	slices.SortStableFunc(all, func(a, b *reactorView) int {
		if d := a.CreatedAt.Compare(b.CreatedAt); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	from := min((page-1)*size, len(all))
	to := min(from+size, len(all))
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{
		"pagination": map[string]any{"total_items": len(all), "page_number": page, "page_size": size,
			"total_pages": (len(all) + size - 1) / size},
		"data": all[from:to]})
}

// offsetPage reads page (from 1) and size (default 20, at most 100) of an offset list.
func offsetPage(c *edge.Call) (page, size int, err error) {
	page, size = 1, 20
	args := c.RC.QueryArgs()
	if v := args.Peek("page"); len(v) > 0 {
		if page, err = strconv.Atoi(string(v)); err != nil || page < 1 || page > 1<<20 {
			return 0, 0, edge.Invalid("page", "must be a whole number from 1")
		}
	}
	if v := args.Peek("size"); len(v) > 0 {
		if size, err = strconv.Atoi(string(v)); err != nil || size < 1 || size > 100 {
			return 0, 0, edge.Invalid("size", "must be a whole number from 1 to 100")
		}
	}
	return page, size, nil
}

// reactorUsing is the id of a reactor whose module is moduleID, or "".
func (s *API) reactorUsing(c *edge.Call, moduleID string) (string, error) {
	docs, err := s.store.List(c.RC, store.Reactors)
	if err != nil {
		return "", err
	}
	for _, d := range docs {
		var r reactorRecord
		if json.Unmarshal(d, &r) == nil && r.ModuleID == moduleID {
			return r.ID, nil
		}
	}
	return "", nil
}
