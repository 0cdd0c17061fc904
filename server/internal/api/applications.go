package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

type applicationRequest struct {
	Name        *string            `json:"name"`
	Type        *string            `json:"type"`
	Permissions []string           `json:"permissions"`
	Containers  []string           `json:"containers"`
	Rules       []store.AccessRule `json:"rules"`
}

type applicationView struct {
	ID          string             `json:"id"`
	TenantID    string             `json:"tenant_id"`
	Name        string             `json:"name"`
	Type        string             `json:"type"`
	Key         string             `json:"key,omitempty"` // only in the answer to create
	Keys        []*appKeyView      `json:"keys"`
	Permissions []string           `json:"permissions"`
	Containers  []string           `json:"containers,omitempty"` // container prefixes it may use; absent = all
	Rules       []store.AccessRule `json:"rules"`
	CreatedBy   string             `json:"created_by,omitempty"`
	CreatedAt   time.Time          `json:"created_at"`
	ModifiedBy  string             `json:"modified_by,omitempty"`
	ModifiedAt  *time.Time         `json:"modified_at,omitempty"`
}

// appView is a's JSON with its live keys (without their values).
func appView(a *store.Application, keys []*store.AppKey) *applicationView {
	v := &applicationView{ID: a.ID, TenantID: edge.TenantID, Name: a.Name, Type: a.Type, Permissions: a.Permissions,
		Containers: a.Containers, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, ModifiedBy: a.ModifiedBy,
		Keys: make([]*appKeyView, 0, len(keys))}
	if !a.ModifiedAt.IsZero() {
		m := a.ModifiedAt
		v.ModifiedAt = &m
	}
	if v.Permissions == nil {
		v.Permissions = []string{}
	}
	v.Rules = a.Rules
	if v.Rules == nil {
		v.Rules = []store.AccessRule{}
	}
	for _, k := range keys {
		v.Keys = append(v.Keys, keyViewOf(k))
	}
	return v
}

// loadAppView is appView of a with its keys read from the vault.
func (s *API) loadAppView(c *edge.Call, a *store.Application) (*applicationView, error) {
	keys, err := s.store.AppKeys(c.RC, a.ID)
	if err != nil {
		return nil, err
	}
	return appView(a, keys), nil
}

// publicPermissions are what a "public" application (a key that ships in browsers and apps) may
// hold: it can create tokens and nothing else.
var publicPermissions = edge.Perm(edge.PermTokenCreate)

func validateContainers(cs []string) error {
	for _, c := range cs {
		if !vault.ValidContainer(c) {
			return edge.Invalid("containers", "a container looks like /segment/segment/")
		}
	}
	return nil
}

// validateApplication checks an application as it would be stored.
func validateApplication(a *store.Application) error {
	if err := validateNameTypePerms(a.Name, a.Type, a.Permissions); err != nil {
		return err
	}
	if err := validateContainers(a.Containers); err != nil {
		return err
	}
	if p := edge.ValidateRules(a.Rules); p != nil {
		return p
	}
	if len(a.Rules) > 0 && len(a.Containers) > 0 {
		return edge.Invalid("containers", "give either rules or containers (a shortcut for rules), not both")
	}
	if a.Type == "public" && edge.RulePerms(a.Rules)&^publicPermissions != 0 {
		return edge.Invalid("rules", "a public application's rules may only grant token:create")
	}
	return nil
}

func validateNameTypePerms(name, typ string, perms []string) error {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return edge.Invalid("name", "is required (at most 200 bytes)")
	}
	switch typ {
	case "private", "management", "public":
	default:
		return edge.Invalid("type", "must be private, management or public")
	}
	p, prob := edge.ParsePerms(perms)
	if prob != nil {
		return prob
	}
	if typ == "public" && p&^publicPermissions != 0 {
		return edge.Invalid("permissions", "a public application may only hold token:create")
	}
	return nil
}

func (s *API) CreateApplication(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationCreate, "application:create"); err != nil {
		return err
	}
	var req applicationRequest
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	if req.Name == nil || req.Type == nil {
		if req.Name == nil {
			return edge.Invalid("name", "is required")
		}
		return edge.Invalid("type", "is required")
	}
	a := &store.Application{ID: edge.NewID(), Name: *req.Name, Type: *req.Type, Permissions: dedupeStrings(req.Permissions),
		Containers: req.Containers, Rules: req.Rules, CreatedBy: c.Who.AppID, CreatedAt: s.now().UTC()}
	if err := validateApplication(a); err != nil {
		return err
	}
	granted, _ := edge.ParsePerms(a.Permissions) // validated above
	if err := c.Who.MayGrant(granted, a.Containers, a.Rules); err != nil {
		return err
	}
	key := edge.NewAPIKey()
	a.KeyHash = s.store.HashKey(key)
	if err := s.store.CreateApplication(c.RC, a, s.event(c, "application", a.ID, "create")); err != nil {
		return err
	}
	first := appKeyView{ID: store.FirstKeyID(a.KeyHash), Key: key, Version: 1, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
	v := appView(a, nil)
	v.Key, v.Keys = key, []*appKeyView{&first}
	return edge.WriteJSON(c.RC, http.StatusCreated, v)
}

func (s *API) ListApplications(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationRead, "application:read"); err != nil {
		return err
	}
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	apps, total, err := s.store.ApplicationsPage(c.RC, q)
	if err != nil {
		return err
	}
	out := make([]*applicationView, 0, len(apps))
	for _, a := range apps {
		v, err := s.loadAppView(c, a)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return writeOffsetPage(c, q, total, out)
}

func (s *API) GetApplication(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationRead, "application:read"); err != nil {
		return err
	}
	a, err := s.store.GetApplication(c.RC, c.ID)
	if err != nil {
		return err
	}
	v, err := s.loadAppView(c, a)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, v)
}

func (s *API) UpdateApplication(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationUpdate, "application:update"); err != nil {
		return err
	}
	var req applicationRequest
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	a, err := s.store.GetApplication(c.RC, c.ID)
	if err != nil {
		return err
	}
	if err := c.Who.MayManage(a); err != nil { // as it is
		return err
	}
	if req.Type != nil && *req.Type != a.Type {
		return edge.Invalid("type", "cannot be changed")
	}
	if req.Name != nil {
		a.Name = *req.Name
	}
	if req.Permissions != nil {
		a.Permissions = dedupeStrings(req.Permissions)
	}
	if req.Containers != nil {
		a.Containers = req.Containers
	}
	if req.Rules != nil {
		a.Rules = req.Rules
	}
	if err := validateApplication(a); err != nil {
		return err
	}
	if err := c.Who.MayManage(a); err != nil { // as it would be
		return err
	}
	a.ModifiedAt, a.ModifiedBy = s.now().UTC(), c.Who.AppID
	err = s.store.UpdateApplication(c.RC, a, s.event(c, "application", a.ID, "update"))
	s.auth.Invalidate()
	if err != nil {
		return err
	}
	v, err := s.loadAppView(c, a)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, v)
}

func (s *API) DeleteApplication(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationDelete, "application:delete"); err != nil {
		return err
	}
	a, err := s.store.GetApplication(c.RC, c.ID)
	if err != nil {
		return err
	}
	if err := c.Who.MayManage(a); err != nil {
		return err
	}
	err = s.store.DeleteApplication(c.RC, c.ID, s.event(c, "application", c.ID, "delete"))
	s.auth.Invalidate()
	if err != nil {
		return err
	}
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}

func dedupeStrings(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// ListLogs is GET /logs: audit events newest first, filtered by entity_type, entity_id,
// operation, actor, start_date and end_date (RFC 3339). With `page` it is an offset list (the
// SDK always sends it); without, a cursor list paged by size and start.
func (s *API) ListLogs(c *edge.Call) error {
	if err := c.Require(edge.PermLogRead, "log:read"); err != nil {
		return err
	}
	args := c.RC.QueryArgs()
	q := store.EventQuery{
		EntityType: string(args.Peek("entity_type")),
		EntityID:   string(args.Peek("entity_id")),
		Operation:  string(args.Peek("operation")),
		Actor:      string(args.Peek("actor")),
		Start:      string(args.Peek("start")),
	}
	for name, dst := range map[string]*time.Time{"start_date": &q.Since, "end_date": &q.Until} {
		if v := args.Peek(name); len(v) > 0 {
			t, err := time.Parse(time.RFC3339, string(v))
			if err != nil {
				return edge.Invalid(name, "must be an RFC 3339 date-time")
			}
			*dst = t
		}
	}
	if args.Has("page") {
		return s.listLogsPage(c, q)
	}
	if v := args.Peek("size"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 100 {
			return edge.Invalid("size", "must be between 1 and 100")
		}
		q.Size = n
	}
	evs, next, err := s.store.Events(c.RC, q)
	if err != nil {
		return err
	}
	if evs, err = s.visibleEvents(c, evs); err != nil {
		return err
	}
	page := map[string]any{"page_size": len(evs)}
	if next != "" {
		page["next"] = next
	}
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{"pagination": page, "data": logViews(evs)})
}

// listLogsPage answers an offset page of the events matching q. Events a container-limited
// caller may not see are dropped from the page (see visibleEvents). Its total counts them, so a
// question about one token it may not use is answered as one about no events at all: the total
// must not tell that the token exists.
func (s *API) listLogsPage(c *edge.Call, q store.EventQuery) error {
	page, size, err := offsetPage(c)
	if err != nil {
		return err
	}
	pq := store.ListQuery{Page: page, Size: size}
	if hidden, err := s.hiddenTokenQuery(c, q); err != nil || hidden {
		if err != nil {
			return err
		}
		return writeOffsetPage(c, pq, 0, []logView{})
	}
	p, err := s.store.EventsPage(c.RC, q, page, size)
	if err != nil {
		return err
	}
	evs, err := s.visibleEvents(c, p.Events)
	if err != nil {
		return err
	}
	return writeOffsetPage(c, pq, p.Total, logViews(evs))
}

// hiddenTokenQuery reports whether q asks, for a container-limited caller, about the events of
// one entity that may be a token it may not use (unknown and deleted tokens included).
func (s *API) hiddenTokenQuery(c *edge.Call, q store.EventQuery) (bool, error) {
	if c.Who.SeesAll() || q.EntityID == "" || q.EntityType != "" && q.EntityType != "token" {
		return false, nil
	}
	toks, err := s.store.GetTokens(c.RC, []string{q.EntityID})
	if err != nil {
		return false, err
	}
	t := toks[q.EntityID]
	return t == nil || !c.Who.Sees(t.Containers), nil
}

// logView is an audit event as Basis Theory shows it, with Sluice's own fields (actor, proxy_id,
// reason) kept.
type logView struct {
	store.Event
	TenantID  string `json:"tenant_id"`
	ActorID   string `json:"actor_id"`
	ActorType string `json:"actor_type"`
	Message   string `json:"message"`
}

func logViews(evs []store.Event) []logView {
	out := make([]logView, 0, len(evs))
	for _, ev := range evs {
		typ := "application"
		if ev.Actor == edge.AdminActor {
			typ = "admin"
		}
		out = append(out, logView{Event: ev, TenantID: edge.TenantID, ActorID: ev.Actor, ActorType: typ,
			Message: ev.EntityType + " " + ev.Operation})
	}
	return out
}

// visibleEvents drops, for a caller limited to containers, the events of tokens it may not use
// (deleted ones included): otherwise the log would tell it that a token in another container
// exists, and who detokenized it when — the existence oracle the token routes close. A page may
// then hold fewer events than its size; next still pages on.
func (s *API) visibleEvents(c *edge.Call, evs []store.Event) ([]store.Event, error) {
	if c.Who.SeesAll() {
		return evs, nil
	}
	var ids []string
	for _, ev := range evs {
		if ev.EntityType == "token" {
			ids = append(ids, ev.EntityID)
		}
	}
	if len(ids) == 0 {
		return evs, nil
	}
	toks, err := s.store.GetTokens(c.RC, dedupeStrings(ids))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(evs, func(ev store.Event) bool {
		if ev.EntityType != "token" {
			return false
		}
		t := toks[ev.EntityID]
		return t == nil || !c.Who.Sees(t.Containers)
	}), nil
}
