package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func tokenKey(id string) []byte { return []byte(prefixToken + id) }
func ephemKey(id string) []byte { return []byte(prefixEphem + id) }
func fingerKey(typ, fp string) []byte {
	return []byte(prefixFinger + typ + "\x00" + fp)
}

// ttlEntry makes an entry that Badger drops at until (zero: never).
func ttlEntry(k, v []byte, until *time.Time) *badger.Entry {
	e := badger.NewEntry(k, v)
	if until != nil {
		if d := time.Until(*until); d > 0 {
			e = e.WithTTL(d)
		} else {
			e = e.WithTTL(time.Nanosecond)
		}
	}
	return e
}

// writeToken stages t's records in txn: the sealed token, its fingerprint index entry and its
// short-lived fields.
func (s *badgerStore) writeToken(txn *badger.Txn, t *Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	k := tokenKey(t.ID)
	if err := txn.SetEntry(ttlEntry(k, s.seal.Seal(nil, b, k), t.ExpiresAt)); err != nil {
		return err
	}
	if t.Fingerprint != "" {
		if err := txn.SetEntry(ttlEntry(fingerKey(t.Type, t.Fingerprint), []byte(t.ID), t.ExpiresAt)); err != nil {
			return err
		}
	}
	ek := ephemKey(t.ID)
	if len(t.Ephemeral) == 0 {
		return txn.Delete(ek)
	}
	eb, err := json.Marshal(t.Ephemeral)
	if err != nil {
		return err
	}
	until := t.EphemeralUntil
	if t.ExpiresAt != nil && t.ExpiresAt.Before(until) {
		until = *t.ExpiresAt
	}
	return txn.SetEntry(ttlEntry(ek, s.seal.Seal(nil, eb, ek), &until))
}

// readToken loads a live token inside txn, merging its short-lived fields back into Data.
func (s *badgerStore) readToken(txn *badger.Txn, id string) (*Token, error) {
	k := tokenKey(id)
	item, err := txn.Get(k)
	if err != nil {
		return nil, mapErr(err)
	}
	var t Token
	err = item.Value(func(v []byte) error {
		pt, err := s.seal.Open(nil, v, k)
		if err != nil {
			return ErrCorrupt
		}
		defer clear(pt)
		return json.Unmarshal(pt, &t)
	})
	if err != nil {
		return nil, err
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(time.Now()) {
		return nil, ErrNotFound // Badger's TTL has second granularity; be exact here
	}
	ek := ephemKey(id)
	eitem, err := txn.Get(ek)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return &t, nil
	}
	if err != nil {
		return nil, err
	}
	t.EphemeralUntil = time.Unix(int64(eitem.ExpiresAt()), 0)
	if !t.EphemeralUntil.After(time.Now()) {
		return &t, nil
	}
	err = eitem.Value(func(v []byte) error {
		pt, err := s.seal.Open(nil, v, ek)
		if err != nil {
			return ErrCorrupt
		}
		defer clear(pt)
		return json.Unmarshal(pt, &t.Ephemeral)
	})
	if err != nil {
		return nil, err
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
	return &t, nil
}

func (s *badgerStore) CreateToken(ctx context.Context, t *Token, dedupe bool, ev Event) (*Token, bool, error) {
	var existing *Token
	err := s.update(func(txn *badger.Txn) error {
		existing = nil
		if dedupe && t.Fingerprint != "" {
			item, err := txn.Get(fingerKey(t.Type, t.Fingerprint))
			if err == nil {
				id, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				old, err := s.readToken(txn, string(id))
				if err == nil {
					existing = old
					return nil
				}
				if !errors.Is(err, ErrNotFound) {
					return err
				}
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
		}
		if _, err := txn.Get(tokenKey(t.ID)); err == nil {
			return ErrConflict
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := s.writeToken(txn, t); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		return existing, true, nil
	}
	return t, false, nil
}

func (s *badgerStore) GetToken(ctx context.Context, id string) (*Token, error) {
	var t *Token
	err := s.db.View(func(txn *badger.Txn) (err error) {
		t, err = s.readToken(txn, id)
		return err
	})
	return t, mapErr(err)
}

func (s *badgerStore) GetTokens(ctx context.Context, ids []string) (map[string]*Token, error) {
	out := make(map[string]*Token, len(ids))
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			t, err := s.readToken(txn, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[id] = t
		}
		return nil
	})
	return out, mapErr(err)
}

func (s *badgerStore) UpdateToken(ctx context.Context, t *Token, ev Event) error {
	return s.update(func(txn *badger.Txn) error {
		old, err := s.readToken(txn, t.ID)
		if err != nil {
			return err
		}
		if old.Fingerprint != "" && (old.Fingerprint != t.Fingerprint || old.Type != t.Type) {
			if err := txn.Delete(fingerKey(old.Type, old.Fingerprint)); err != nil {
				return err
			}
		}
		if err := s.writeToken(txn, t); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

func (s *badgerStore) DeleteToken(ctx context.Context, id string, ev Event) error {
	return s.update(func(txn *badger.Txn) error {
		old, err := s.readToken(txn, id)
		if err != nil {
			return err
		}
		if old.Fingerprint != "" {
			item, err := txn.Get(fingerKey(old.Type, old.Fingerprint))
			if err == nil {
				if owner, _ := item.ValueCopy(nil); string(owner) == id {
					if err := txn.Delete(fingerKey(old.Type, old.Fingerprint)); err != nil {
						return err
					}
				}
			}
		}
		for _, k := range [][]byte{tokenKey(id), ephemKey(id)} {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return putEvents(txn, ev)
	})
}
