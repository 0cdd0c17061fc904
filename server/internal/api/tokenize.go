package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

// POST /tokenize (SPEC §4): any JSON in, the same JSON out with every leaf replaced by the id
// of a new `token` token and every token request ({"type", "data" or "encrypted", …}) by the
// created token. Every token is checked first and then all are stored in one CreateTokens
// batch: all or nothing, and a refusal is a 400 naming the path of the item.

func (s *API) Tokenize(c *edge.Call) error {
	if err := c.Require(edge.PermTokenCreate, "token:create"); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &raw); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber() // a numeric leaf is vaulted exactly as sent
	var body any
	if err := d.Decode(&body); err != nil {
		return edge.Invalid("body", "is not valid JSON")
	}
	b := &tokenBatch{s: s, who: c.Who}
	out, err := b.walk(body, "$")
	if err != nil {
		return err
	}
	created, err := s.store.CreateTokens(c.RC, b.reqs)
	if err != nil {
		var be *store.BatchError
		if errors.As(err, &be) && be.Index >= 0 && be.Index < len(b.paths) {
			return batchRefused(b.paths[be.Index], be.Err)
		}
		return err
	}
	for i, slot := range b.slots {
		if slot.leaf {
			*slot.dst = created[i].Token.ID
			continue
		}
		v, err := s.vault.View(created[i].Token, vault.CreatedShape(c.Who, created[i].Token, created[i].Existed))
		if err != nil {
			return err
		}
		*slot.dst = v
	}
	return edge.WriteJSON(c.RC, http.StatusOK, out)
}

// tokenBatch collects the tokens of one /tokenize body, each with the path that names it and
// the place its answer goes.
type tokenBatch struct {
	s     *API
	who   *edge.Principal
	reqs  []store.TokenCreate
	paths []string
	slots []tokenSlot
}

type tokenSlot struct {
	dst  *any
	leaf bool // answered by the id alone
}

// walk returns v with each token's place held by a *any that Tokenize fills once the batch is
// stored.
func (b *tokenBatch) walk(v any, path string) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		for i := range v {
			var err error
			if v[i], err = b.walk(v[i], path+"["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
		}
		return v, nil
	case map[string]any:
		if isTokenRequest(v) {
			return b.add(v, path, false)
		}
		for k := range v {
			var err error
			if v[k], err = b.walk(v[k], path+"."+k); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	return b.add(map[string]any{"type": vault.TypeToken, "data": v}, path, true)
}

// isTokenRequest: an object with a type and data (or encrypted data) asks for one token.
func isTokenRequest(m map[string]any) bool {
	_, typed := m["type"]
	_, data := m["data"]
	_, enc := m["encrypted"]
	return typed && (data || enc)
}

// add checks one token request (refusals name path) and holds its place in the answer.
func (b *tokenBatch) add(obj map[string]any, path string, leaf bool) (any, error) {
	if len(b.reqs) >= store.MaxTokenBatch {
		return nil, edge.Invalid(path, "more than "+strconv.Itoa(store.MaxTokenBatch)+" tokens in one request")
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var req vault.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, edge.Invalid(path, "is not a valid token request")
	}
	c, err := b.s.vault.Prepare(b.who, &req, b.s.decryptTokenData)
	if err != nil {
		return nil, batchRefused(path, err)
	}
	slot := tokenSlot{dst: new(any), leaf: leaf}
	b.reqs = append(b.reqs, c)
	b.paths = append(b.paths, path)
	b.slots = append(b.slots, slot)
	return slot.dst, nil
}

// batchRefused names path in a refusal of one item: 400s (and the store's invalid input and
// id conflicts) become a 400 on the path; 403 and the like keep their status. The vault's
// reasons never hold data.
func batchRefused(path string, err error) error {
	var p *edge.Problem
	switch {
	case errors.As(err, &p) && p.Status != http.StatusBadRequest:
		return p
	case errors.Is(err, store.ErrConflict):
		return edge.Invalid(path, "a token with this id already exists")
	case errors.Is(err, store.ErrInvalidInput):
		return edge.Invalid(path, "could not be tokenized: the request is not valid")
	case errors.As(err, &p) && len(p.Errors) > 0:
		for field, msgs := range p.Errors {
			return edge.Invalid(path, field+": "+msgs[0])
		}
	case errors.Is(err, vault.ErrInvalidData):
		return edge.Invalid(path, "could not be tokenized: the data is not valid for its type")
	}
	return err
}

// POST /detokenize (SPEC §4): any JSON whose strings hold {{ … }} expressions, answered with
// them resolved. Plaintext leaves here, so the caller needs the right to see it (a rule that
// reveals on read, or token:use as on the proxy) besides token:read; each token is checked
// against its rules as on the proxy (a token they do not reveal is unknown) and audited first.
func (s *API) Detokenize(c *edge.Call) error {
	if !c.Who.MayRead() {
		return edge.Forbidden("token:read")
	}
	if !c.Who.Can(edge.PermTokenReveal) && !c.Who.Can(edge.PermTokenUse) {
		return edge.Forbidden("token:reveal")
	}
	var raw json.RawMessage
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &raw); err != nil {
		return err
	}
	out, err := s.proxy.Detokenize(c, raw)
	if err != nil {
		return err
	}
	defer clear(out)
	c.RC.SetStatusCode(http.StatusOK)
	c.RC.SetContentType("application/json")
	c.RC.SetBody(out)
	return nil
}
