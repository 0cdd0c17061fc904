package api

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// Keys is the one place private keys are read from the vault and cached: Lookup is the
// jwe.KeyLookup the Decrypter is built with. Records are kept in memory after the first use
// (the Decrypter holds the parsed key anyway); DELETE /keys drops them.
type Keys struct {
	store    store.Store
	now      func() time.Time
	keyCache sync.Map      // kid → *keyRecord, filled on first use
	keyGen   atomic.Uint64 // bumped by every key deletion
}

// NewKeys reads keys from st.
func NewKeys(st store.Store, now func() time.Time) *Keys { return &Keys{store: st, now: now} }

// forget drops kid from the cache, and any read of it that began before.
func (s *Keys) forget(kid string) {
	s.keyGen.Add(1)
	s.keyCache.Delete(kid)
}

// Lookup is the jwe.KeyLookup over the vault: unknown, deleted and expired keys are errors.
func (s *Keys) Lookup(kid string) (string, []byte, error) {
	if v, ok := s.keyCache.Load(kid); ok {
		r := v.(*keyRecord)
		if r.ExpiresAt != nil && !r.ExpiresAt.After(s.now()) {
			return "", nil, errors.New("api: key expired")
		}
		return r.Alg, r.Private, nil
	}
	gen := s.keyGen.Load()
	d, err := s.store.Get(context.Background(), store.Keys, kid)
	if err != nil {
		return "", nil, err
	}
	defer clear(d)
	r := &keyRecord{}
	if err := json.Unmarshal(d, r); err != nil {
		return "", nil, err
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(s.now()) {
		return "", nil, errors.New("api: key expired")
	}
	if s.keyGen.Load() == gen { // no delete since the read began: never re-cache a deleted key
		s.keyCache.Store(kid, r)
	}
	return r.Alg, r.Private, nil
}
