package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// AppKey is one API key of an application. The key itself is never stored, only its keyed hash
// (HashKey). An application holds any number of live keys; each works until it or the
// application is deleted.
//
// The key an application is created with (Application.KeyHash) is its first key: version 1,
// with an id derived from its hash, so records written before applications had several keys
// read as one key each.
type AppKey struct {
	ID            string    `json:"id"`
	ApplicationID string    `json:"application_id"`
	Version       int       `json:"version"`
	KeyHash       []byte    `json:"key_hash"`
	CreatedBy     string    `json:"created_by,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// FirstKeyID is the id of the key an application was created with, from its hash: a UUID-shaped
// hash of the keyed hash, which says nothing of the key.
func FirstKeyID(keyHash []byte) string {
	h := sha256.Sum256(append([]byte("sluice first key id\x00"), keyHash...))
	h[6] = h[6]&0x0f | 0x80 // a version nibble no random UUID has: never equal to a generated id
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// firstKey is a's first key as a record (nil once it was deleted or when a has none).
func firstKey(a *Application) *AppKey {
	if len(a.KeyHash) == 0 {
		return nil
	}
	return &AppKey{ID: FirstKeyID(a.KeyHash), ApplicationID: a.ID, Version: 1, KeyHash: a.KeyHash,
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
}

// withFirstKey lists a's keys, its first key (if live) before the others, oldest first.
func withFirstKey(a *Application, others []*AppKey) []*AppKey {
	slices.SortFunc(others, func(x, y *AppKey) int { return x.Version - y.Version })
	if k := firstKey(a); k != nil {
		return append([]*AppKey{k}, others...)
	}
	return others
}

// nextKeyVersion is the version a new key of an application takes: one more than any it holds
// (the first key is 1).
func nextKeyVersion(a *Application, others []*AppKey) int {
	v := 1
	for _, k := range others {
		v = max(v, k.Version)
	}
	return v + 1
}

// checkAppKey refuses a key record a backend could not keep.
func checkAppKey(k *AppKey, ev *Event) error {
	if err := checkWrite(k.ApplicationID, ev); err != nil {
		return err
	}
	if err := checkWrite(k.ID, ev); err != nil {
		return err
	}
	if len(k.KeyHash) == 0 {
		return errInvalid("a key needs its hash")
	}
	return nil
}

func errInvalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalidInput, why) }

// keepDeletedFirstKey is the record UpdateApplication writes for a: once an application's
// first key is deleted, an update (made from a copy read before the delete) cannot bring it
// back; new keys come from CreateAppKey.
func keepDeletedFirstKey(old, a *Application) *Application {
	if len(old.KeyHash) > 0 || len(a.KeyHash) == 0 {
		return a
	}
	rec := *a
	rec.KeyHash = nil
	return &rec
}

// findAppKey picks keyID out of an application's keys (ErrNotFound when it has no such key).
func findAppKey(keys []*AppKey, err error) func(keyID string) (*AppKey, error) {
	return func(keyID string) (*AppKey, error) {
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k.ID == keyID {
				return k, nil
			}
		}
		return nil, ErrNotFound
	}
}

// getOne is GetToken through a backend's GetTokens.
func getOne(s interface {
	GetTokens(context.Context, []string) (map[string]*Token, error)
}, ctx context.Context, id string) (*Token, error) {
	m, err := s.GetTokens(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if t := m[id]; t != nil {
		return t, nil
	}
	return nil, ErrNotFound
}
