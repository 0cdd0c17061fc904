package store

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpenKeyAndIdempotencyRows: whatever bytes a row holds where an application key or an
// idempotency record is sealed, opening it is that record or ErrCorrupt; never a panic.
func FuzzOpenKeyAndIdempotencyRows(f *testing.F) {
	keys, err := newVaultKeys(testKey(5))
	if err != nil {
		f.Fatal(err)
	}
	pg := &pgStore{vaultKeys: keys}
	key, _ := pg.sealAppKey(&AppKey{ID: "k", ApplicationID: "a", Version: 2, KeyHash: []byte{1}})
	id := keys.idemID("a", "k")
	idem := keys.sealIdem(id, &idemRecord{RequestHash: []byte("h"), Done: true, Status: 201, Body: []byte(`{}`)})
	f.Add(key)
	f.Add(idem)
	f.Add(idem[:len(idem)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		if k, err := pg.openAppKey("a", "k", sealed); err == nil && (k.ID != "k" || k.ApplicationID != "a") || err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("key: %+v %v", k, err)
		}
		if r, err := keys.openIdem(id, sealed); err == nil && !bytes.Equal(r.RequestHash, []byte("h")) || err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("idempotency: %+v %v", r, err)
		}
	})
}

// FuzzDecodeCursor: a Start from a caller is a position or ErrInvalidInput; a position
// encodes back to the same cursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(tokenPos(&Token{ID: "tok"})))
	f.Add("")
	f.Add("AAAAAAAAAAA")
	f.Add("not a cursor!")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if len(p) < 8 || encodeCursor(p) != s {
			t.Fatalf("%q: position %x", s, p)
		}
	})
}
