package store_test

import (
	"bytes"
	"testing"

	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/store/storetest"
)

// TestBadgerConformance runs the conformance suite on the Badger vault, on disk.
func TestBadgerConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T) store.Store {
			s, err := store.Open(store.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		FlipToken: func(t *testing.T, s store.Store, id string) { store.FlipBadgerValue(t, s, store.TokenKey(id)) },
		FlipDocument: func(t *testing.T, s store.Store, c store.Collection, id string) {
			store.FlipBadgerValue(t, s, store.DocKey(c, id))
		},
	})
}
