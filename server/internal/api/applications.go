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
	Name        *string  `json:"name"`
	Type        *string  `json:"type"`
	Permissions []string `json:"permissions"`
	Containers  []string `json:"containers"`
}

type applicationView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Key         string     `json:"key,omitempty"` // only in the answer to create
	Permissions []string   `json:"permissions"`
	Containers  []string   `json:"containers,omitempty"` // container prefixes it may use; absent = all
	CreatedAt   time.Time  `json:"created_at"`
	ModifiedAt  *time.Time `json:"modified_at,omitempty"`
}

func appView(a *store.Application) *applicationView {
	v := &applicationView{ID: a.ID, Name: a.Name, Type: a.Type, Permissions: a.Permissions, Containers: a.Containers, CreatedAt: a.CreatedAt}
	if !a.ModifiedAt.IsZero() {
		m := a.ModifiedAt
		v.ModifiedAt = &m
	}
	if v.Permissions == nil {
		v.Permissions = []string{}
	}
	return v
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

func validateApplication(name, typ string, perms []string) error {
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
	perms := dedupeStrings(req.Permissions)
	if err := validateApplication(*req.Name, *req.Type, perms); err != nil {
		return err
	}
	if err := validateContainers(req.Containers); err != nil {
		return err
	}
	granted, _ := edge.ParsePerms(perms) // validated above
	if err := c.Who.MayGrant(granted, req.Containers); err != nil {
		return err
	}
	key := edge.NewAPIKey()
	a := &store.Application{ID: edge.NewID(), Name: *req.Name, Type: *req.Type, Permissions: perms, Containers: req.Containers,
		KeyHash: s.store.HashKey(key), CreatedAt: s.now().UTC()}
	if err := s.store.CreateApplication(c.RC, a, s.event(c, "application", a.ID, "create")); err != nil {
		return err
	}
	v := appView(a)
	v.Key = key
	return edge.WriteJSON(c.RC, http.StatusCreated, v)
}

func (s *API) ListApplications(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationRead, "application:read"); err != nil {
		return err
	}
	apps, err := s.store.ListApplications(c.RC)
	if err != nil {
		return err
	}
	out := make([]*applicationView, 0, len(apps))
	for _, a := range apps {
		out = append(out, appView(a))
	}
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{
		"pagination": map[string]any{"total_items": len(out), "page_size": len(out)},
		"data":       out,
	})
}

func (s *API) GetApplication(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationRead, "application:read"); err != nil {
		return err
	}
	a, err := s.store.GetApplication(c.RC, c.ID)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, appView(a))
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
		if err := validateContainers(req.Containers); err != nil {
			return err
		}
		a.Containers = req.Containers
	}
	if err := validateApplication(a.Name, a.Type, a.Permissions); err != nil {
		return err
	}
	if err := c.Who.MayManage(a); err != nil { // as it would be
		return err
	}
	a.ModifiedAt = s.now().UTC()
	err = s.store.UpdateApplication(c.RC, a, s.event(c, "application", a.ID, "update"))
	s.auth.Invalidate()
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, appView(a))
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

// listLogs is GET /logs: audit events newest first, filtered by entity_type, entity_id,
// operation, actor, start_date and end_date (RFC 3339), paged by size and start.
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
	if evs == nil {
		evs = []store.Event{}
	}
	page := map[string]any{"page_size": len(evs)}
	if next != "" {
		page["next"] = next
	}
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{"pagination": page, "data": evs})
}

// visibleEvents drops, for a caller limited to containers, the events of tokens it may not use
// (deleted ones included): otherwise the log would tell it that a token in another container
// exists, and who detokenized it when — the existence oracle the token routes close. A page may
// then hold fewer events than its size; next still pages on.
func (s *API) visibleEvents(c *edge.Call, evs []store.Event) ([]store.Event, error) {
	if len(c.Who.Containers) == 0 {
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
		return t == nil || !c.Who.CanUse(t.Containers)
	}), nil
}
