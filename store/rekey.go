package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// keyRootNext holds the root secret wrapped by the next master key while a rekey is under way.
const keyRootNext = "m/root.next"

// RekeyStep names the points of Rekey; tests stop after one to simulate an interruption.
type RekeyStep int

const (
	RekeyWrapped   RekeyStep = iota + 1 // root secret also wrapped by the new key (old key still opens)
	RekeyRotated                        // Badger's key registry re-encrypted (new key opens)
	RekeyCompleted                      // the old wrapping is gone
)

// Rekey rotates the master key of the vault in dir from oldKey to newKey. The data itself is not
// rewritten: Badger's data keys are re-encrypted in its key registry (replaced atomically) and the
// vault's root secret is re-wrapped. Interrupted at any point, the directory opens with one of the
// two keys, and the next Open with the new key finishes the job. stopAfter (0: run to the end)
// exists for tests.
func Rekey(dir string, oldKey, newKey []byte, stopAfter RekeyStep) error {
	if len(oldKey) != seal.KeySize || len(newKey) != seal.KeySize {
		return errors.New("store: master keys must be 32 bytes")
	}
	st, err := Open(Options{Dir: dir, MasterKey: oldKey})
	if err != nil {
		return err
	}
	s := st.(*badgerStore)
	root, err := loadRoot(s.db, oldKey)
	if err != nil {
		s.Close()
		return err
	}
	next, _ := seal.New(seal.Derive(newKey, "key encryption"))
	err = s.update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyRootNext), next.Seal(nil, root, []byte(keyRoot)))
	})
	clear(root)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil || stopAfter == RekeyWrapped {
		return err
	}
	reg, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, EncryptionKey: seal.Derive(oldKey, "badger"),
		EncryptionKeyRotationDuration: 30 * 24 * time.Hour})
	if err != nil {
		return fmt.Errorf("store: key registry: %w", err)
	}
	err = badger.WriteKeyRegistry(reg, badger.KeyRegistryOptions{Dir: dir, EncryptionKey: seal.Derive(newKey, "badger"),
		EncryptionKeyRotationDuration: 30 * 24 * time.Hour})
	reg.Close()
	if err != nil {
		return fmt.Errorf("store: key registry: %w", err)
	}
	if stopAfter == RekeyRotated {
		return nil
	}
	st, err = Open(Options{Dir: dir, MasterKey: newKey}) // finishes the rekey (loadRoot)
	if err != nil {
		return err
	}
	return st.Close()
}
