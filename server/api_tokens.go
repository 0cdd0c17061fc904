package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-edge/sluice/internal/tokens"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// tokenRequest is the body of POST /tokens and PATCH /tokens/{id}.
type tokenRequest struct {
	ID                    *string           `json:"id"`
	Type                  *string           `json:"type"`
	Data                  json.RawMessage   `json:"data"`
	Encrypted             *string           `json:"encrypted"`
	Metadata              map[string]string `json:"metadata"`
	Containers            []string          `json:"containers"`
	Mask                  json.RawMessage   `json:"mask"`
	ExpiresAt             *string           `json:"expires_at"`
	DeduplicateToken      *bool             `json:"deduplicate_token"`
	FingerprintExpression *string           `json:"fingerprint_expression"`
}

// tokenView is the token JSON of SPEC §4.
type tokenView struct {
	ID                    string            `json:"id"`
	Type                  string            `json:"type"`
	Data                  json.RawMessage   `json:"data"`
	Metadata              map[string]string `json:"metadata"`
	Containers            []string          `json:"containers"`
	Mask                  json.RawMessage   `json:"mask"`
	Fingerprint           string            `json:"fingerprint"`
	FingerprintExpression string            `json:"fingerprint_expression"`
	CreatedBy             string            `json:"created_by,omitempty"`
	CreatedAt             time.Time         `json:"created_at"`
	ModifiedAt            *time.Time        `json:"modified_at,omitempty"`
	ExpiresAt             *time.Time        `json:"expires_at"`
	Card                  *tokens.Card      `json:"card,omitempty"`
	Extras                *tokenExtras      `json:"_extras,omitempty"`
}

type tokenExtras struct {
	Deduplicated bool `json:"deduplicated"`
}

// defaultFingerprintExpressions are what the native default fingerprint of each type computes,
// written as the expressions a Basis Theory user knows.
var defaultFingerprintExpressions = map[string]string{
	tokens.TypeToken:       "{{ data | json_stringify }}",
	tokens.TypeCard:        "{{ data.number }}",
	tokens.TypeCardNumber:  "{{ data }}",
	tokens.TypeBank:        "{{ data.routing_number }}|{{ data.account_number }}",
	tokens.TypeSSN:         "{{ data | remove: '-' }}",
	tokens.TypeRouting:     "{{ data }}",
	tokens.TypeBankAccount: "{{ data }}",
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) event(c *call, entityType, entityID, op string) store.Event {
	return store.Event{EntityType: entityType, EntityID: entityID, Operation: op, Actor: c.who.AppID, CreatedAt: s.now().UTC()}
}

// view renders t for a response; reveal decides whether data is plaintext or masked.
func (s *Server) view(t *store.Token, reveal bool) (*tokenView, error) {
	v := &tokenView{
		ID: t.ID, Type: t.Type, Metadata: t.Metadata, Containers: t.Containers, Mask: t.Mask,
		Fingerprint: t.Fingerprint, FingerprintExpression: t.FingerprintExpression,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, ModifiedAt: t.ModifiedAt, ExpiresAt: t.ExpiresAt,
		Card: tokens.Summary(t.Type, t.Data),
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if v.FingerprintExpression == "" {
		v.FingerprintExpression = defaultFingerprintExpressions[t.Type]
	}
	if reveal {
		v.Data = t.Data
		return v, nil
	}
	masked, err := s.mask(t)
	if err != nil {
		return nil, err
	}
	v.Data = masked
	return v, nil
}

// mask applies the token's mask, or its type's default mask.
func (s *Server) mask(t *store.Token) (json.RawMessage, error) {
	if len(t.Mask) == 0 || bytes.Equal(t.Mask, []byte("null")) {
		return tokens.DefaultMask(t.Type, t.Data), nil
	}
	return renderMask(t)
}

// applyFields validates the fields of req common to create and patch and sets them on t.
func (s *Server) applyFields(t *store.Token, req *tokenRequest) error {
	if req.Metadata != nil {
		if len(req.Metadata) > 50 {
			return edge.Invalid("metadata", "at most 50 entries")
		}
		for k, v := range req.Metadata {
			if k == "" || len(k) > 128 || len(v) > 1024 {
				return edge.Invalid("metadata", "keys are 1-128 bytes and values at most 1024 bytes")
			}
		}
		t.Metadata = req.Metadata
	}
	if req.Containers != nil {
		if len(req.Containers) == 0 || len(req.Containers) > 16 {
			return edge.Invalid("containers", "between 1 and 16 containers")
		}
		for _, ct := range req.Containers {
			if !tokens.ValidContainer(ct) {
				return edge.Invalid("containers", "a container looks like /segment/segment/")
			}
		}
		t.Containers = req.Containers
	}
	if req.ExpiresAt != nil {
		if *req.ExpiresAt == "" {
			t.ExpiresAt = nil
		} else {
			at, err := time.Parse(time.RFC3339, *req.ExpiresAt)
			if err != nil {
				return edge.Invalid("expires_at", "must be an RFC 3339 date-time")
			}
			if !at.After(s.now()) {
				return edge.Invalid("expires_at", "must be in the future")
			}
			at = at.UTC()
			t.ExpiresAt = &at
		}
	}
	if req.Mask != nil {
		m := bytes.TrimSpace(req.Mask)
		if bytes.Equal(m, []byte("null")) {
			t.Mask = nil
		} else {
			if err := validateMask(m); err != nil {
				return err
			}
			t.Mask = m
		}
	}
	if req.FingerprintExpression != nil {
		if err := validateFingerprintExpression(*req.FingerprintExpression); err != nil {
			return err
		}
		t.FingerprintExpression = *req.FingerprintExpression
	}
	return nil
}

// setData validates data for t's type and stores it (splitting out short-lived fields), then
// recomputes the fingerprint.
func (s *Server) setData(t *store.Token, data json.RawMessage, keepEphemeralUntil time.Time) error {
	keep, eph, ferr := tokens.Validate(t.Type, data, s.now())
	if ferr != nil {
		return edge.Invalid(ferr.Field, ferr.Message)
	}
	t.Data, t.Ephemeral = keep, eph
	if len(eph) > 0 {
		t.EphemeralUntil = keepEphemeralUntil
		if t.EphemeralUntil.IsZero() {
			t.EphemeralUntil = s.now().Add(tokens.CVCLifetime)
		}
	}
	fp, err := s.fingerprint(t)
	if err != nil {
		return err
	}
	t.Fingerprint = fp
	// A mask is checked over the data it will show: its size bound depends on the data's size.
	if len(t.Mask) > 0 && !bytes.Equal(t.Mask, []byte("null")) {
		if _, err := renderMask(t); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) fingerprint(t *store.Token) (string, error) {
	if t.FingerprintExpression == "" {
		return s.store.Fingerprint(t.Type, tokens.FingerprintInput(t.Type, t.Data)), nil
	}
	in, err := renderFingerprint(t)
	if err != nil {
		return "", err
	}
	return s.store.Fingerprint(t.Type, in), nil
}

func (s *Server) createToken(c *call) error {
	if err := c.require(edge.PermTokenCreate, "token:create"); err != nil {
		return err
	}
	var req tokenRequest
	if err := edge.DecodeJSON(c.ctx, s.cfg.Limits.APIBodyBytes, &req); err != nil {
		return err
	}
	t := &store.Token{Type: tokens.TypeToken, CreatedBy: c.who.AppID, CreatedAt: s.now().UTC()}
	if req.Type != nil {
		t.Type = *req.Type
	}
	if !tokens.Known(t.Type) {
		return edge.Invalid("type", "unknown token type")
	}
	t.ID = newUUID()
	if req.ID != nil {
		if !tokens.ValidID(*req.ID) {
			return edge.Invalid("id", "1-200 letters, digits, '_' or '-'")
		}
		t.ID = *req.ID
	}
	t.Containers = tokens.DefaultContainers(t.Type)
	if err := s.applyFields(t, &req); err != nil {
		return err
	}
	if !c.who.CanUse(t.Containers) {
		return errCreateOutsideContainers
	}
	data := req.Data
	switch {
	case req.Encrypted != nil && data != nil:
		return edge.Invalid("data", "give either data or encrypted, not both")
	case req.Encrypted != nil:
		pt, err := s.decryptTokenData(c, *req.Encrypted)
		if err != nil {
			return err
		}
		data = pt
	case data == nil:
		return edge.Invalid("data", "is required")
	}
	if err := s.setData(t, data, time.Time{}); err != nil {
		return err
	}
	asked := req.DeduplicateToken != nil && *req.DeduplicateToken
	// The vault deduplicates only within the new token's own containers, which the caller may use
	// (checked above); a caller that may not read tokens gets a new one, exactly as if there were
	// no duplicate.
	dedupe := asked && c.who.MayRead()
	stored, existed, err := s.store.CreateToken(c.ctx, t, dedupe, s.event(c, "token", t.ID, "create"))
	if err != nil {
		return err
	}
	v, err := s.view(stored, false)
	if err != nil {
		return err
	}
	if asked {
		v.Extras = &tokenExtras{Deduplicated: existed}
	}
	return edge.WriteJSON(c.ctx, http.StatusCreated, v)
}

func (s *Server) getToken(c *call) error {
	reveal := c.who.Can(edge.PermTokenReveal)
	if !c.who.MayRead() {
		return edge.Forbidden("token:read")
	}
	t, err := s.usableToken(c, c.id)
	if err != nil {
		return err
	}
	op := "read"
	if reveal {
		op = "reveal"
	}
	// The audit record is part of the read: without it, nothing is returned.
	if err := s.store.Audit(c.ctx, s.event(c, "token", t.ID, op)); err != nil {
		return err
	}
	v, err := s.view(t, reveal)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.ctx, http.StatusOK, v)
}

func (s *Server) patchToken(c *call) error {
	if err := c.require(edge.PermTokenUpdate, "token:update"); err != nil {
		return err
	}
	var req tokenRequest
	if err := edge.DecodeJSON(c.ctx, s.cfg.Limits.APIBodyBytes, &req); err != nil {
		return err
	}
	if req.ID != nil || req.Type != nil {
		return edge.Invalid("type", "id and type cannot be changed")
	}
	// A new mask or fingerprint expression over existing data can show or probe that data: it
	// takes the right to see it.
	if (req.Mask != nil || req.FingerprintExpression != nil) && !c.who.Can(edge.PermTokenReveal) {
		return edge.Forbidden("token:reveal")
	}
	t, err := s.usableToken(c, c.id)
	if err != nil {
		return err
	}
	if req.Containers != nil && !c.who.CanUse(req.Containers) {
		return edge.NewProblem(http.StatusForbidden, "the application may not move tokens into these containers")
	}
	if err := s.applyFields(t, &req); err != nil {
		return err
	}
	data := t.Data
	until := t.EphemeralUntil
	if req.Data != nil {
		data, err = mergePatch(t.Data, req.Data)
		if err != nil {
			return edge.Invalid("data", "is not valid JSON")
		}
		if !sameEphemeral(t.Data, data) {
			until = time.Time{} // a new cvc gets a fresh hour
		}
	}
	if err := s.setData(t, data, until); err != nil {
		return err
	}
	now := s.now().UTC()
	t.ModifiedAt = &now
	if err := s.store.UpdateToken(c.ctx, t, s.event(c, "token", t.ID, "update")); err != nil {
		return err
	}
	v, err := s.view(t, false)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.ctx, http.StatusOK, v)
}

func (s *Server) deleteToken(c *call) error {
	if err := c.require(edge.PermTokenDelete, "token:delete"); err != nil {
		return err
	}
	if _, err := s.usableToken(c, c.id); err != nil {
		return err
	}
	if err := s.store.DeleteToken(c.ctx, c.id, s.event(c, "token", c.id, "delete")); err != nil {
		return err
	}
	c.ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// errCreateOutsideContainers refuses a token (from the API or a transform) in containers the
// caller may not use: a fact about the caller, whether or not such tokens exist.
var errCreateOutsideContainers = edge.NewProblem(http.StatusForbidden, "the application may not create tokens in these containers")

// usableToken fetches a token the caller may use: one in a container outside the
// application's containers is "not found" to it.
func (s *Server) usableToken(c *call, id string) (*store.Token, error) {
	t, err := s.store.GetToken(c.ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.who.CanUse(t.Containers) {
		return nil, edge.ErrNotFound
	}
	return t, nil
}

// mergePatch applies an RFC 7396 JSON merge patch to doc.
func mergePatch(doc, patch json.RawMessage) (json.RawMessage, error) {
	var d, p any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, err
		}
	}
	return json.Marshal(mergeValue(d, p))
}

func mergeValue(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
		} else {
			dm[k] = mergeValue(dm[k], v)
		}
	}
	return dm
}

func sameEphemeral(a, b json.RawMessage) bool {
	var x, y struct {
		CVC *string `json:"cvc"`
	}
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	return (x.CVC == nil) == (y.CVC == nil) && (x.CVC == nil || *x.CVC == *y.CVC)
}
