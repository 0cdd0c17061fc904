package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func tokenKey(id string) []byte { return []byte(prefixToken + id) }
func ephemKey(id string) []byte { return []byte(prefixEphem + id) }

// fingerKey is a token's dedupe index entry: one per type, fingerprint and set of containers, so
// deduplication finds only a token in exactly the containers the new one asks for (the order and
// repeats of containers do not matter).
func fingerKey(typ, fp string, containers []string) []byte {
	cs := slices.Clone(containers)
	slices.Sort(cs)
	h := sha256.New()
	for _, c := range slices.Compact(cs) {
		h.Write([]byte(c))
		h.Write([]byte{0})
	}
	return h.Sum([]byte(prefixFinger + typ + "\x00" + fp + "\x00"))
}

func indexKey(t *Token) []byte { return fingerKey(t.Type, t.Fingerprint, t.Containers) }

// ttlEntry makes an entry that Badger drops after until (nil: never). Badger counts whole
// seconds, rounded down: the entry gets a second more, and reads check the exact time.
func ttlEntry(k, v []byte, until *time.Time) *badger.Entry {
	e := badger.NewEntry(k, v)
	if until != nil {
		if d := time.Until(*until); d > 0 {
			e = e.WithTTL(d + time.Second)
		} else {
			e = e.WithTTL(time.Nanosecond)
		}
	}
	return e
}

// writeToken stages t's records in txn: the sealed token, its claim on the fingerprint index and
// its short-lived fields.
func (s *badgerStore) writeToken(txn *badger.Txn, t *Token) error {
	rec, ephem, ephemTill, err := s.sealToken(t)
	if err != nil {
		return err
	}
	if err := txn.SetEntry(ttlEntry(tokenKey(t.ID), rec, t.ExpiresAt)); err != nil {
		return err
	}
	if err := s.claimIndex(txn, t); err != nil {
		return err
	}
	if err := s.indexTerms(txn, t); err != nil {
		return err
	}
	// The short-lived fields' deadline is their entry's own expiry, which Badger keeps in whole
	// seconds rounded down: they go up to a second early, never late.
	d := time.Until(ephemTill)
	if ephem == nil || d <= 0 {
		return txn.Delete(ephemKey(t.ID))
	}
	return txn.SetEntry(badger.NewEntry(ephemKey(t.ID), ephem).WithTTL(d))
}

// claimIndex points t's dedupe index entry at t unless another live token holds it: the first
// token keeps the entry until it is deleted, expires or moves, so a later duplicate (made by a
// caller that may not read the first) never takes over what deduplication returns.
func (s *badgerStore) claimIndex(txn *badger.Txn, t *Token) error {
	if t.Fingerprint == "" {
		return nil
	}
	k := indexKey(t)
	owner, err := indexOwner(txn, k)
	if err != nil {
		return err
	}
	if owner != "" && owner != t.ID {
		if _, err := s.readToken(txn, owner); err == nil {
			return nil // live: it keeps the entry
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return txn.SetEntry(ttlEntry(k, []byte(t.ID), t.ExpiresAt))
}

// releaseIndex drops old's dedupe index entry if old holds it.
func releaseIndex(txn *badger.Txn, old *Token) error {
	if old.Fingerprint == "" {
		return nil
	}
	k := indexKey(old)
	owner, err := indexOwner(txn, k)
	if err != nil || owner != old.ID {
		return err
	}
	return txn.Delete(k)
}

// indexOwner is the id of the token holding index entry k ("" when none does).
func indexOwner(txn *badger.Txn, k []byte) (string, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id, err := item.ValueCopy(nil)
	return string(id), err
}

// readToken loads a live token inside txn, merging its short-lived fields back into Data.
func (s *badgerStore) readToken(txn *badger.Txn, id string) (*Token, error) {
	e, err := s.rawToken(txn, id)
	if err != nil {
		return nil, err
	}
	return s.openToken(id, e)
}

// rawToken reads the sealed records of a token inside txn, as the cache keeps them.
func (s *badgerStore) rawToken(txn *badger.Txn, id string) (*cacheEntry, error) {
	item, err := txn.Get(tokenKey(id))
	if err != nil {
		return nil, mapErr(err)
	}
	e := &cacheEntry{}
	if e.token, err = item.ValueCopy(nil); err != nil {
		return nil, err
	}
	if exp := item.ExpiresAt(); exp > 0 {
		e.expires = time.Unix(int64(exp), 0)
	}
	eitem, err := txn.Get(ephemKey(id))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return e, nil
	case err != nil:
		return nil, err
	}
	e.ephemTill = time.Unix(int64(eitem.ExpiresAt()), 0)
	if e.ephem, err = eitem.ValueCopy(nil); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *badgerStore) CreateToken(ctx context.Context, t *Token, dedupe bool, ev Event) (*Token, bool, error) {
	if err := checkWrite(t.ID, &ev); err != nil {
		return nil, false, err
	}
	var existing *Token
	err := s.update(func(txn *badger.Txn) error {
		var err error
		existing, err = s.createIn(txn, t, dedupe, ev)
		return err
	})
	s.cache.drop(t.ID)
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		return existing, true, nil
	}
	return t, false, nil
}

// createIn stages the creation of t and its event in txn, or returns the live token
// deduplication finds (and stages nothing).
func (s *badgerStore) createIn(txn *badger.Txn, t *Token, dedupe bool, ev Event) (existing *Token, err error) {
	if dedupe && t.Fingerprint != "" {
		id, err := indexOwner(txn, indexKey(t))
		if err != nil {
			return nil, err
		}
		if id != "" {
			old, err := s.readToken(txn, id)
			if err == nil {
				return old, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return nil, err
			}
		}
	}
	if _, err := txn.Get(tokenKey(t.ID)); err == nil {
		return nil, ErrConflict
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return nil, err
	}
	if err := s.writeToken(txn, t); err != nil {
		return nil, err
	}
	return nil, putEvents(txn, ev)
}

// CreateTokens stages every creation in one transaction: Badger commits all or none.
func (s *badgerStore) CreateTokens(ctx context.Context, reqs []TokenCreate) ([]TokenCreated, error) {
	if err := checkBatch(reqs); err != nil {
		return nil, err
	}
	out := make([]TokenCreated, len(reqs))
	err := s.update(func(txn *badger.Txn) error {
		for i, r := range reqs {
			existing, err := s.createIn(txn, r.Token, r.Dedupe, r.Event)
			if err != nil {
				return &BatchError{Index: i, Err: mapErr(err)}
			}
			out[i] = created(r.Token, existing)
		}
		return nil
	})
	for _, r := range reqs {
		s.cache.drop(r.Token.ID)
	}
	if errors.Is(err, badger.ErrTxnTooBig) {
		return nil, errInvalid("a batch of tokens too large for one transaction")
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *badgerStore) GetToken(ctx context.Context, id string) (*Token, error) {
	return getOne(s, ctx, id)
}

// GetTokens serves what it can from the sealed cache and reads the rest in one transaction.
func (s *badgerStore) GetTokens(ctx context.Context, ids []string) (map[string]*Token, error) {
	out := make(map[string]*Token, len(ids))
	var miss []string
	for _, id := range ids {
		e := s.cache.get(id)
		if e == nil {
			miss = append(miss, id)
			continue
		}
		t, err := s.openToken(id, e)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = t
	}
	if len(miss) == 0 {
		return out, nil
	}
	gen := s.cache.generation()
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range miss {
			e, err := s.rawToken(txn, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			t, err := s.openToken(id, e)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			s.cache.put(id, e, gen)
			out[id] = t
		}
		return nil
	})
	return out, mapErr(err)
}

func (s *badgerStore) UpdateToken(ctx context.Context, t *Token, ev Event) error {
	if err := checkWrite(t.ID, &ev); err != nil {
		return err
	}
	defer s.cache.drop(t.ID)
	return s.update(func(txn *badger.Txn) error {
		old, err := s.readToken(txn, t.ID)
		if err != nil {
			return err
		}
		if !bytes.Equal(indexKey(old), indexKey(t)) {
			if err := releaseIndex(txn, old); err != nil {
				return err
			}
		}
		if err := s.unindexTerms(txn, old); err != nil {
			return err
		}
		if err := s.writeToken(txn, t); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

func (s *badgerStore) DeleteToken(ctx context.Context, id string, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	defer s.cache.drop(id)
	var dead int64
	err := s.update(func(txn *badger.Txn) error {
		e, err := s.rawToken(txn, id)
		if err != nil {
			return err
		}
		old, err := s.openToken(id, e)
		if err != nil {
			return err
		}
		dead = int64(len(e.token) + len(e.ephem))
		if err := releaseIndex(txn, old); err != nil {
			return err
		}
		if err := s.unindexTerms(txn, old); err != nil {
			return err
		}
		for _, k := range [][]byte{tokenKey(id), ephemKey(id)} {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return putEvents(txn, ev)
	})
	if err == nil {
		s.dead.Add(dead)
	}
	return err
}
