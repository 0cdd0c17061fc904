package store

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/jackc/pgx/v5/pgxpool"
)

// FlipBadgerValue changes one bit in the middle of the value Badger stores under key and drops
// the token cache, for the conformance suite's sealed-byte flips.
func FlipBadgerValue(t *testing.T, st Store, key []byte) {
	t.Helper()
	s := st.(*badgerStore)
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		v[len(v)/2] ^= 1
		return txn.SetEntry(badger.NewEntry(key, v).WithMeta(item.UserMeta()))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.cache.drop(string(key[len(prefixToken):]))
}

// TokenKey and DocKey are where Badger keeps a token and a document.
func TokenKey(id string) []byte             { return tokenKey(id) }
func DocKey(c Collection, id string) []byte { return docKey(c, id) }

// DropCached makes st forget its cached copy of token id.
func DropCached(st Store, id string) {
	switch s := st.(type) {
	case *badgerStore:
		s.cache.drop(id)
	case *pgStore:
		s.cache.drop(id)
	}
}

// PostgresPool is the connection pool of the PostgreSQL vault st, nil once st is closed.
func PostgresPool(st Store) *pgxpool.Pool {
	if s := st.(*pgStore); !s.closed.Load() {
		return s.pool
	}
	return nil
}

// BadgerRaw is every key and value of a Badger vault, as Badger stores them (inside its own
// file encryption).
func BadgerRaw(t *testing.T, st Store) []byte {
	t.Helper()
	var out []byte
	err := st.(*badgerStore).db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out = append(out, it.Item().Key()...)
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// CursorOf is the cursor after t.
func CursorOf(t *Token) string { return encodeCursor(tokenPos(t)) }
