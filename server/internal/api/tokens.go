package api

import (
	"encoding/json"
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
)

// The token API (SPEC §4) is a thin layer over the vault, where every rule is checked. The
// permission checks here come before the body is read, so a caller without the right learns
// nothing from how its body is judged.

func (s *API) CreateToken(c *edge.Call) error {
	if err := c.Require(edge.PermTokenCreate, "token:create"); err != nil {
		return err
	}
	var req vault.Request
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	stored, existed, err := s.vault.Create(c.RC, c.Who, &req, s.decryptTokenData)
	if err != nil {
		return err
	}
	v, err := s.vault.View(stored, vault.CreatedShape(c.Who, stored, existed))
	if err != nil {
		return err
	}
	if req.DeduplicateToken != nil && *req.DeduplicateToken {
		v.Extras = &vault.Extras{Deduplicated: existed}
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, v)
}

func (s *API) GetToken(c *edge.Call) error {
	v, err := s.vault.Get(c.RC, c.Who, c.ID)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, v)
}

func (s *API) PatchToken(c *edge.Call) error {
	if err := c.Require(edge.PermTokenUpdate, "token:update"); err != nil {
		return err
	}
	// metadata is a merge patch: kept raw here so that a null (remove the key) stays a null.
	var req struct {
		vault.Request
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	req.MetadataPatch = req.Metadata
	v, err := s.vault.Update(c.RC, c.Who, c.ID, &req.Request)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, v)
}

func (s *API) DeleteToken(c *edge.Call) error {
	if err := s.vault.Delete(c.RC, c.Who, c.ID); err != nil {
		return err
	}
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}
