package server

import (
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
)

// The token API (SPEC §4) is a thin layer over the vault, where every rule is checked. The
// permission checks here come before the body is read, so a caller without the right learns
// nothing from how its body is judged.

func (s *Server) createToken(c *call) error {
	if err := c.require(edge.PermTokenCreate, "token:create"); err != nil {
		return err
	}
	var req vault.Request
	if err := edge.DecodeJSON(c.rc, s.cfg.Limits.APIBodyBytes, &req); err != nil {
		return err
	}
	stored, existed, err := s.vault.Create(c.rc, c.who, &req, s.decryptTokenData)
	if err != nil {
		return err
	}
	v, err := s.vault.View(stored, false)
	if err != nil {
		return err
	}
	if req.DeduplicateToken != nil && *req.DeduplicateToken {
		v.Extras = &vault.Extras{Deduplicated: existed}
	}
	return edge.WriteJSON(c.rc, http.StatusCreated, v)
}

func (s *Server) getToken(c *call) error {
	v, err := s.vault.Get(c.rc, c.who, c.id)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.rc, http.StatusOK, v)
}

func (s *Server) patchToken(c *call) error {
	if err := c.require(edge.PermTokenUpdate, "token:update"); err != nil {
		return err
	}
	var req vault.Request
	if err := edge.DecodeJSON(c.rc, s.cfg.Limits.APIBodyBytes, &req); err != nil {
		return err
	}
	v, err := s.vault.Update(c.rc, c.who, c.id, &req)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.rc, http.StatusOK, v)
}

func (s *Server) deleteToken(c *call) error {
	if err := s.vault.Delete(c.rc, c.who, c.id); err != nil {
		return err
	}
	c.rc.SetStatusCode(http.StatusNoContent)
	return nil
}
