package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// vaultKeys are the working keys every backend derives from the vault's root secret, and what
// it does with them: seal and open token records and documents, and the keyed hashes. The same
// root secret gives the same envelopes and hashes in every backend.
type vaultKeys struct {
	seal      *seal.Sealer
	fingerKey []byte
	apiKeyKey []byte
	tagKey    []byte // keyed hashes of indexed fields (a token's type in PostgreSQL)
}

func newVaultKeys(root []byte) (*vaultKeys, error) {
	s, err := seal.New(seal.Derive(root, "envelope"))
	if err != nil {
		return nil, err
	}
	return &vaultKeys{seal: s, fingerKey: seal.Derive(root, "fingerprint"), apiKeyKey: seal.Derive(root, "api key"),
		tagKey: seal.Derive(root, "index tag")}, nil
}

// tag is the keyed hash under which a field's value is indexed (16 bytes): equal values have
// equal tags, and a tag says nothing of its value without the vault.
func (k *vaultKeys) tag(field, value string) []byte {
	m := hmac.New(sha256.New, k.tagKey)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)[:16]
}

// rootKEK is the key that wraps the root secret: derived from the master key, so rotating the
// master key re-wraps one record.
func rootKEK(master []byte) (*seal.Sealer, error) {
	return seal.New(seal.Derive(master, "key encryption"))
}

func (k *vaultKeys) Fingerprint(tokenType string, value []byte) string {
	m := hmac.New(sha256.New, k.fingerKey)
	m.Write([]byte(tokenType))
	m.Write([]byte{0})
	m.Write(value)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

func (k *vaultKeys) HashKey(key string) []byte {
	m := hmac.New(sha256.New, k.apiKeyKey)
	m.Write([]byte(key))
	return m.Sum(nil)
}

// sealToken seals t's record and, if it has short-lived fields, those, with the time they
// stop being valid (the earlier of EphemeralUntil and the token's expiry). The sealed values
// are bound to the token's id.
func (k *vaultKeys) sealToken(t *Token) (rec, ephem []byte, ephemTill time.Time, err error) {
	if t.SearchValues != nil {
		t.searchTags = k.searchTags(t.SearchValues)
	}
	b := encodeToken(nil, t)
	rec = k.seal.Seal(nil, b, tokenKey(t.ID))
	clear(b)
	if len(t.Ephemeral) == 0 {
		return rec, nil, time.Time{}, nil
	}
	eb, err := json.Marshal(t.Ephemeral)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	ephemTill = t.EphemeralUntil
	if t.ExpiresAt != nil && t.ExpiresAt.Before(ephemTill) {
		ephemTill = *t.ExpiresAt
	}
	ephem = k.seal.Seal(nil, eb, ephemKey(t.ID))
	clear(eb)
	return rec, ephem, ephemTill, nil
}

// openToken opens the sealed records of e. The returned token's Data is plaintext, owned by the
// caller; the sealed bytes in e are not modified.
func (k *vaultKeys) openToken(id string, e *cacheEntry) (*Token, error) {
	pt, err := k.seal.Open(nil, e.token, tokenKey(id))
	if err != nil {
		return nil, ErrCorrupt
	}
	t, err := decodeToken(pt) // t.Data is a view into pt: pt now belongs to t
	if err != nil {
		clear(pt)
		return nil, ErrCorrupt
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(time.Now()) {
		return nil, ErrNotFound // a backend may keep an expired record a while: be exact here
	}
	if e.ephem == nil || !e.ephemTill.After(time.Now()) {
		return t, nil
	}
	t.EphemeralUntil = e.ephemTill
	ept, err := k.seal.Open(nil, e.ephem, ephemKey(id))
	if err != nil {
		return nil, ErrCorrupt
	}
	err = json.Unmarshal(ept, &t.Ephemeral)
	clear(ept)
	if err != nil {
		return nil, ErrCorrupt
	}
	if len(t.Ephemeral) > 0 {
		var data map[string]json.RawMessage
		if json.Unmarshal(t.Data, &data) == nil && data != nil {
			for f, v := range t.Ephemeral {
				data[f] = v
			}
			t.Data, _ = json.Marshal(data)
		}
	}
	return t, nil
}

// sealDoc seals a document of collection c (unsealed collections keep it as is).
func (k *vaultKeys) sealDoc(c Collection, id string, doc []byte) []byte {
	if !c.Sealed {
		return doc
	}
	return k.seal.Seal(nil, doc, docKey(c, id))
}

// openDoc opens a stored document of c kept under key dk (as docKey makes it).
func (k *vaultKeys) openDoc(c Collection, dk, v []byte) ([]byte, error) {
	if !c.Sealed {
		return append([]byte(nil), v...), nil
	}
	out, err := k.seal.Open(nil, v, dk)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}

// tokenGetter reads tokens the sealed cache misses (and fills it).
type tokenGetter interface {
	GetTokens(ctx context.Context, ids []string) (map[string]*Token, error)
}

// resolve opens the tokens named by ids into r (appending, in order). Tokens in the sealed
// cache are opened in place; the others come from g in one read (which allocates). Tokens
// with live short-lived fields (a card's cvc) are decoded in full, into Full.
func (k *vaultKeys) resolve(ctx context.Context, cache *sealedCache, g tokenGetter, ids []string, r *Resolved) error {
	var miss []string
	now := time.Now() // one clock read for all the tokens (~60 ns each here)
	for _, id := range ids {
		e := cache.get(id)
		if e == nil {
			if miss == nil {
				miss = make([]string, 0, len(ids))
			}
			miss = append(miss, id)
			r.Tokens = append(r.Tokens, ResolvedToken{ID: id})
			continue
		}
		if err := k.resolveEntry(id, e, r, now); err != nil {
			return err
		}
	}
	if len(miss) == 0 {
		return nil
	}
	toks, err := g.GetTokens(ctx, miss) // fills the cache for next time
	if err != nil {
		return err
	}
	for i := range r.Tokens {
		t := &r.Tokens[i]
		if t.Found {
			continue
		}
		if full := toks[t.ID]; full != nil {
			t.Found, t.Full, t.Type, t.Data = true, full, []byte(full.Type), full.Data
		}
	}
	return nil
}

// resolveEntry opens one cached entry into r, as of now.
func (k *vaultKeys) resolveEntry(id string, e *cacheEntry, r *Resolved, now time.Time) error {
	if e.ephem != nil && e.ephemTill.After(now) {
		t, err := k.openToken(id, e) // merges the short-lived fields: allocates, rare
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		rt := ResolvedToken{ID: id}
		if t != nil {
			rt.Found, rt.Full, rt.Type, rt.Data = true, t, []byte(t.Type), t.Data
		}
		r.Tokens = append(r.Tokens, rt)
		return nil
	}
	r.aad = append(append(r.aad[:0], prefixToken...), id...)
	start := len(r.buf)
	var err error
	r.buf, err = k.seal.Open(r.buf, e.token, r.aad)
	if err != nil {
		r.buf = r.buf[:start]
		return ErrCorrupt
	}
	r.Tokens = append(r.Tokens, ResolvedToken{ID: id})
	if !viewToken(&r.Tokens[len(r.Tokens)-1], r.buf[start:], now) {
		r.Tokens = r.Tokens[:len(r.Tokens)-1]
		return ErrCorrupt
	}
	return nil
}
