package store_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/store/storetest"
)

// TestBadgerConformance runs the conformance suite on the Badger vault, in files (in RAM when
// the machine has room, see vaultDir).
func TestBadgerConformance(t *testing.T) {
	var mu sync.Mutex
	dirs := map[store.Store]string{}
	open := func(t *testing.T, dir string) store.Store {
		s, err := store.Open(store.Options{Dir: dir, MasterKey: bytes.Repeat([]byte{7}, 32), Sizes: store.SizesAtTestScale})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		dirs[s] = dir
		mu.Unlock()
		return s
	}
	storetest.Run(t, storetest.Backend{
		Parallel: true,
		Open:     func(t *testing.T) store.Store { return open(t, store.VaultDir(t)) },
		Reopen: func(t *testing.T, s store.Store) store.Store {
			mu.Lock()
			dir := dirs[s]
			mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, dir)
		},
		Raw:       store.BadgerRaw,
		FlipToken: func(t *testing.T, s store.Store, id string) { store.FlipBadgerValue(t, s, store.TokenKey(id)) },
		FlipDocument: func(t *testing.T, s store.Store, c store.Collection, id string) {
			store.FlipBadgerValue(t, s, store.DocKey(c, id))
		},
	})
}
