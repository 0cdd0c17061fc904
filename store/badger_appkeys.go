package store

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// An application's keys in Badger: its first key is Application.KeyHash, found through
// prefixAppKey+hex(hash) -> application id. Every other key has a record under
// prefixAppKeyRec+appID\x00keyID and is found through prefixAppKey+hex(hash) -> appID\x00keyID.

const prefixAppKeyRec = "K/"

func appKeyRecKey(appID, keyID string) []byte {
	return []byte(prefixAppKeyRec + appID + "\x00" + keyID)
}
func appKeyIndex(hash []byte) []byte { return []byte(prefixAppKey + hex.EncodeToString(hash)) }

// otherKeys reads an application's keys other than its first.
func otherKeys(txn *badger.Txn, appID string) ([]*AppKey, error) {
	var out []*AppKey
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAppKeyRec + appID + "\x00"), PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := &AppKey{}
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, k) }); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func (s *badgerStore) ApplicationKey(ctx context.Context, key string) (*Application, *AppKey, error) {
	h := s.HashKey(key)
	var a Application
	var k *AppKey
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(appKeyIndex(h))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		appID, keyID, other := strings.Cut(string(v), "\x00")
		if err := getJSON(txn, prefixApp+appID, &a); err != nil {
			return err
		}
		if !other {
			k = firstKey(&a)
			return nil
		}
		k = &AppKey{}
		return getJSON(txn, string(appKeyRecKey(appID, keyID)), k)
	})
	if err != nil {
		return nil, nil, mapErr(err)
	}
	if k == nil || subtle.ConstantTimeCompare(k.KeyHash, h) != 1 {
		return nil, nil, ErrNotFound
	}
	return &a, k, nil
}

func (s *badgerStore) ApplicationByKey(ctx context.Context, key string) (*Application, error) {
	a, _, err := s.ApplicationKey(ctx, key)
	return a, err
}

func (s *badgerStore) CreateAppKey(ctx context.Context, k *AppKey, ev Event) error {
	if err := checkAppKey(k, &ev); err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		var a Application
		if err := getJSON(txn, prefixApp+k.ApplicationID, &a); err != nil {
			return err
		}
		if first := firstKey(&a); first != nil && first.ID == k.ID {
			return ErrConflict
		}
		for _, key := range [][]byte{appKeyRecKey(k.ApplicationID, k.ID), appKeyIndex(k.KeyHash)} {
			if _, err := txn.Get(key); err == nil {
				return ErrConflict
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
		}
		others, err := otherKeys(txn, k.ApplicationID)
		if err != nil {
			return err
		}
		k.Version = nextKeyVersion(&a, others)
		b, err := json.Marshal(k)
		if err != nil {
			return err
		}
		if err := txn.Set(appKeyRecKey(k.ApplicationID, k.ID), b); err != nil {
			return err
		}
		if err := txn.Set(appKeyIndex(k.KeyHash), []byte(k.ApplicationID+"\x00"+k.ID)); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

func (s *badgerStore) AppKeys(ctx context.Context, appID string) ([]*AppKey, error) {
	var out []*AppKey
	err := s.db.View(func(txn *badger.Txn) error {
		var a Application
		if err := getJSON(txn, prefixApp+appID, &a); err != nil {
			return err
		}
		others, err := otherKeys(txn, appID)
		out = withFirstKey(&a, others)
		return err
	})
	return out, mapErr(err)
}

func (s *badgerStore) GetAppKey(ctx context.Context, appID, keyID string) (*AppKey, error) {
	return findAppKey(s.AppKeys(ctx, appID))(keyID)
}

func (s *badgerStore) DeleteAppKey(ctx context.Context, appID, keyID string, ev Event) error {
	if err := checkWrite(appID, &ev); err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		var a Application
		if err := getJSON(txn, prefixApp+appID, &a); err != nil {
			return err
		}
		if first := firstKey(&a); first != nil && first.ID == keyID {
			if err := txn.Delete(appKeyIndex(a.KeyHash)); err != nil {
				return err
			}
			a.KeyHash = nil
			b, err := json.Marshal(&a)
			if err != nil {
				return err
			}
			if err := txn.Set([]byte(prefixApp+appID), b); err != nil {
				return err
			}
			return putEvents(txn, ev)
		}
		var k AppKey
		if err := getJSON(txn, string(appKeyRecKey(appID, keyID)), &k); err != nil {
			return err
		}
		if err := deleteAppKeyRec(txn, &k); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

// deleteAppKeyRec drops a key record and its entry in the key index.
func deleteAppKeyRec(txn *badger.Txn, k *AppKey) error {
	if err := txn.Delete(appKeyIndex(k.KeyHash)); err != nil {
		return err
	}
	return txn.Delete(appKeyRecKey(k.ApplicationID, k.ID))
}

// moveFirstKey points the key index at a's new first key when it changed.
func moveFirstKey(txn *badger.Txn, old, a *Application) error {
	if bytes.Equal(old.KeyHash, a.KeyHash) {
		return nil
	}
	if len(old.KeyHash) > 0 {
		if err := txn.Delete(appKeyIndex(old.KeyHash)); err != nil {
			return err
		}
	}
	if len(a.KeyHash) == 0 {
		return nil
	}
	return txn.Set(appKeyIndex(a.KeyHash), []byte(a.ID))
}
