package api

import (
	"net/http"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// appKeyView is an application key as Basis Theory shows it; key only in the answer to create.
// The SDK types version as a string.
type appKeyView struct {
	ID        string    `json:"id"`
	Key       string    `json:"key,omitempty"`
	Version   int       `json:"version,string"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func keyViewOf(k *store.AppKey) *appKeyView {
	return &appKeyView{ID: k.ID, Version: k.Version, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
}

// GetApplicationByKey is GET /applications/key: the calling key's own application. A valid key
// is all it needs: an application may always see itself.
func (s *API) GetApplicationByKey(c *edge.Call) error {
	if c.Who.AppID == edge.AdminActor {
		return edge.NewProblem(http.StatusNotFound, "the bootstrap admin key belongs to no application")
	}
	a, err := s.store.GetApplication(c.RC, c.Who.AppID)
	if err != nil {
		return err
	}
	v, err := s.loadAppView(c, a)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, v)
}

// managedApplication is application c.ID if the caller holds perm and may manage it: minting or
// revoking its keys hands out or takes away everything it holds.
func (s *API) managedApplication(c *edge.Call, perm edge.Perm, name string) (*store.Application, error) {
	if err := c.Require(perm, name); err != nil {
		return nil, err
	}
	a, err := s.store.GetApplication(c.RC, c.ID)
	if err != nil {
		return nil, err
	}
	if err := c.Who.MayManage(a); err != nil {
		return nil, err
	}
	return a, nil
}

// CreateApplicationKey is POST /applications/{id}/keys: one more live key; the others keep working.
func (s *API) CreateApplicationKey(c *edge.Call) error {
	a, err := s.managedApplication(c, edge.PermApplicationUpdate, "application:update")
	if err != nil {
		return err
	}
	key := edge.NewAPIKey()
	k := &store.AppKey{ID: edge.NewID(), ApplicationID: a.ID, KeyHash: s.store.HashKey(key), CreatedBy: c.Who.AppID,
		CreatedAt: s.now().UTC()}
	if err := s.store.CreateAppKey(c.RC, k, s.event(c, "application", a.ID, "create_key")); err != nil {
		return err
	}
	v := keyViewOf(k)
	v.Key = key
	return edge.WriteJSON(c.RC, http.StatusCreated, v)
}

// ListApplicationKeys is GET /applications/{id}/keys: a bare array, without key values.
func (s *API) ListApplicationKeys(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationRead, "application:read"); err != nil {
		return err
	}
	keys, err := s.store.AppKeys(c.RC, c.ID)
	if err != nil {
		return err
	}
	out := make([]*appKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyViewOf(k))
	}
	return edge.WriteJSON(c.RC, http.StatusOK, out)
}

func (s *API) GetApplicationKey(c *edge.Call) error {
	if err := c.Require(edge.PermApplicationRead, "application:read"); err != nil {
		return err
	}
	k, err := s.store.GetAppKey(c.RC, c.ID, c.SubID)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, keyViewOf(k))
}

// DeleteApplicationKey stops one key at once: the principal cache forgets every key, so the
// next call with it is looked up again and finds nothing.
func (s *API) DeleteApplicationKey(c *edge.Call) error {
	a, err := s.managedApplication(c, edge.PermApplicationUpdate, "application:update")
	if err != nil {
		return err
	}
	err = s.store.DeleteAppKey(c.RC, a.ID, c.SubID, s.event(c, "application", a.ID, "delete_key"))
	s.auth.Invalidate()
	if err != nil {
		return err
	}
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}
