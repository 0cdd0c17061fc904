package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/sluice-edge/sluice/jwe"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// keyRecord is a client-side encryption key pair as sealed in the vault. The private key never
// leaves the vault except into the Decrypter's in-memory cache.
type keyRecord struct {
	ID        string     `json:"id"`
	Alg       string     `json:"alg"`
	Private   []byte     `json:"private"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
}

type keyView struct {
	ID           string          `json:"id"`
	KeyID        string          `json:"key_id"`
	Alg          string          `json:"alg,omitempty"`
	PublicKeyPEM string          `json:"public_key_pem,omitempty"`
	JWK          json.RawMessage `json:"jwk,omitempty"`
	ExpiresAt    *time.Time      `json:"expires_at"`
}

const maxKeyLifetime = 366 * 24 * time.Hour

func (s *API) CreateKey(c *edge.Call) error {
	if err := c.Require(edge.PermKeysCreate, "keys:create"); err != nil {
		return err
	}
	var req struct {
		ExpiresAt *string `json:"expires_at"`
		Alg       string  `json:"alg"`
	}
	if len(c.RC.PostBody()) > 0 || c.RC.Request.Header.ContentLength() != 0 {
		if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
			return err
		}
	}
	now := s.now().UTC()
	exp := now.Add(maxKeyLifetime - 24*time.Hour)
	if req.ExpiresAt != nil {
		at, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil || !at.After(now) || at.After(now.Add(maxKeyLifetime)) {
			return edge.Invalid("expires_at", "an RFC 3339 time in the future, at most one year away")
		}
		exp = at.UTC()
	}
	id := edge.NewID()
	kp, err := jwe.GenerateKey(req.Alg, id)
	if errors.Is(err, jwe.ErrUnsupportedAlgorithm) {
		return edge.Invalid("alg", "must be ECDH-ES (X25519), ECDH-ES+A256KW (P-256) or RSA-OAEP-256")
	}
	if err != nil {
		return err
	}
	rec := keyRecord{ID: id, Alg: kp.Alg, Private: kp.Private, ExpiresAt: &exp, CreatedAt: now}
	doc, err := json.Marshal(rec)
	clear(rec.Private)
	if err != nil {
		return err
	}
	defer clear(doc)
	if err := s.store.Put(c.RC, store.Keys, id, doc, true, s.event(c, "key", id, "create")); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusCreated, keyView{ID: id, KeyID: kp.KID, Alg: kp.Alg,
		PublicKeyPEM: kp.PublicKeyPEM, JWK: kp.JWK, ExpiresAt: &exp})
}

func (s *API) ListKeys(c *edge.Call) error {
	if err := c.Require(edge.PermKeysRead, "keys:read"); err != nil {
		return err
	}
	docs, err := s.store.List(c.RC, store.Keys)
	if err != nil {
		return err
	}
	out := []keyView{}
	for _, d := range docs {
		var r keyRecord
		if json.Unmarshal(d, &r) == nil {
			out = append(out, keyView{ID: r.ID, KeyID: r.ID, ExpiresAt: r.ExpiresAt})
		}
		clear(d)
	}
	return edge.WriteJSON(c.RC, http.StatusOK, out) // a bare array, as Basis Theory answers
}

func (s *API) GetKey(c *edge.Call) error {
	if err := c.Require(edge.PermKeysRead, "keys:read"); err != nil {
		return err
	}
	d, err := s.store.Get(c.RC, store.Keys, c.ID)
	if err != nil {
		return err
	}
	defer clear(d)
	var r keyRecord
	if err := json.Unmarshal(d, &r); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, keyView{ID: r.ID, KeyID: r.ID, ExpiresAt: r.ExpiresAt})
}

func (s *API) DeleteKey(c *edge.Call) error {
	if err := c.Require(edge.PermKeysDelete, "keys:delete"); err != nil {
		return err
	}
	err := s.store.Delete(c.RC, store.Keys, c.ID, s.event(c, "key", c.ID, "delete"))
	s.keys.forget(c.ID)
	s.decrypter.Purge()
	if err != nil {
		return err
	}
	c.RC.SetStatusCode(http.StatusNoContent)
	return nil
}

// errDecrypt is the one answer to every decryption failure: no oracle, no detail.
var errDecrypt = edge.Invalid("encrypted", "the encrypted payload could not be decrypted")

// decryptTokenData decrypts the "encrypted" field of POST /tokens: a compact JWE whose plaintext
// is the token's data.
func (s *API) decryptTokenData(compact string) (json.RawMessage, error) {
	pt, alg, err := s.decrypter.DecryptAlg([]byte(compact))
	s.metrics.Decrypted(alg, err)
	if err != nil {
		return nil, errDecrypt
	}
	return pt, nil
}
