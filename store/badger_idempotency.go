package store

import (
	"context"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func idemKey(id []byte) []byte { return append([]byte(prefixIdem), id...) }

// readIdem reads the record of id in txn (nil when there is none).
func (s *badgerStore) readIdem(txn *badger.Txn, id []byte) (*idemRecord, error) {
	item, err := txn.Get(idemKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	return s.openIdem(id, v)
}

func (s *badgerStore) writeIdem(txn *badger.Txn, id []byte, r *idemRecord) error {
	return txn.SetEntry(ttlEntry(idemKey(id), s.sealIdem(id, r), &r.ExpiresAt))
}

// BeginIdempotent decides in one transaction: Badger's conflict detection makes racing claims
// retry, and the retry finds the winner's record.
func (s *badgerStore) BeginIdempotent(ctx context.Context, scope, key string, requestHash []byte, ttl time.Duration) (IdemResult, error) {
	if err := checkIdem(scope, key, ttl); err != nil {
		return IdemResult{}, err
	}
	id := s.idemID(scope, key)
	var res IdemResult
	err := s.update(func(txn *badger.Txn) error {
		old, err := s.readIdem(txn, id)
		if err != nil {
			return err
		}
		var fresh *idemRecord
		res, fresh = beginIdem(old, requestHash, ttl, time.Now())
		if fresh == nil {
			return nil
		}
		return s.writeIdem(txn, id, fresh)
	})
	return res, err
}

func (s *badgerStore) FinishIdempotent(ctx context.Context, scope, key, claim string, status int, body []byte) error {
	id := s.idemID(scope, key)
	return s.update(func(txn *badger.Txn) error {
		r, err := s.readIdem(txn, id)
		if err != nil {
			return err
		}
		if r == nil || r.Done || r.Claim != claim || !r.ExpiresAt.After(time.Now()) {
			return ErrNotFound
		}
		r.Done, r.Status, r.Body, r.Claim, r.ClaimUntil = true, status, body, "", time.Time{}
		return s.writeIdem(txn, id, r)
	})
}

func (s *badgerStore) AbandonIdempotent(ctx context.Context, scope, key, claim string) error {
	id := s.idemID(scope, key)
	return s.update(func(txn *badger.Txn) error {
		r, err := s.readIdem(txn, id)
		if err != nil || r == nil || r.Done || r.Claim != claim {
			return err
		}
		return txn.Delete(idemKey(id))
	})
}
