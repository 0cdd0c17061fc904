package store

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// openWith opens a vault in dir with opt's other fields as given.
func openWith(t testing.TB, dir string, opt Options) *badgerStore {
	t.Helper()
	opt.Dir, opt.MasterKey = dir, testKey(1)
	s, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*badgerStore)
}

// holdFsync replaces j's fdatasync with one that counts calls and blocks until release is
// called (at the latest when the test ends, before the vault closes).
// TestAuditSyncIntervalZeroWaitsForFsync: with audit.sync_interval 0, Audit returns only after
// an fdatasync that covers its record.
// TestAuditSyncIntervalDefaultGroupCommits: with the default interval Audit does not wait for
// fsync (held here), and the records of the window reach stable storage in one fdatasync.
// TestAuditFsyncFailureFailsClosed: when an fdatasync fails, appends fail (their plaintext must
// not leave) until a sync succeeds again.
// fakeFree makes s's disk guard see free bytes (settable) instead of the file system's.
func fakeFree(s *badgerStore) *atomic.Uint64 {
	free := new(atomic.Uint64)
	free.Store(1 << 40)
	s.disk.free = func(string) (uint64, error) { return free.Load(), nil }
	return free
}

// TestDiskBelowReserveRefusesWritesAndAudit: below the reserve every write and Audit fails with
// ErrDiskLow and leaves nothing behind; reads still work; once space is back, writes resume.
func TestDiskBelowReserveRefusesWritesAndAudit(t *testing.T) {
	t.Parallel()
	s := openWith(t, vaultDir(t), Options{DiskReserve: 64 << 20})
	free := fakeFree(s)
	if _, _, err := s.CreateToken(ctx, card("kept", "4242424242424242"), false, Event{EntityType: "token", EntityID: "kept", Operation: "create"}); err != nil {
		t.Fatal(err)
	}
	free.Store(64<<20 - 1)
	s.disk.sample() // what the background sampler does every 250 ms
	if err := s.Ready(); !errors.Is(err, ErrDiskLow) || !strings.Contains(err.Error(), "reserve 64.0 MiB") {
		t.Fatalf("Ready: %v", err)
	}
	writes := []struct {
		name string
		do   func() error
	}{
		{"create", func() error {
			_, _, err := s.CreateToken(ctx, card("refused", "4242424242424242"), false, Event{EntityType: "token", EntityID: "refused", Operation: "create"})
			return err
		}},
		{"update", func() error { return s.UpdateToken(ctx, card("kept", "5555555555554444"), Event{}) }},
		{"delete", func() error { return s.DeleteToken(ctx, "kept", Event{}) }},
		{"document", func() error { return s.Put(ctx, Proxies, "p", []byte(`{}`), true, Event{}) }},
		{"application", func() error { return s.CreateApplication(ctx, &Application{ID: "a", KeyHash: []byte{1}}, Event{}) }},
		{"audit", func() error {
			return s.Audit(ctx, Event{EntityType: "token", EntityID: "kept", Operation: "detokenize"})
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			if err := w.do(); !errors.Is(err, ErrDiskLow) || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("below the reserve: %v", err)
			}
		})
	}
	if tok, err := s.GetToken(ctx, "kept"); err != nil || !strings.Contains(string(tok.Data), "4242424242424242") {
		t.Fatalf("read below the reserve: %v", err)
	}
	if _, err := s.GetToken(ctx, "refused"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused create was written: %v", err)
	}
	if evs, _, err := s.Events(ctx, EventQuery{Operation: "detokenize"}); err != nil || len(evs) != 0 {
		t.Fatalf("a refused audit was written: %v %d", err, len(evs))
	}
	free.Store(64 << 20)
	if _, _, err := s.CreateToken(ctx, card("after", "4242424242424242"), false, Event{EntityType: "token", EntityID: "after", Operation: "create"}); err != nil {
		t.Fatalf("create once space is back (no sample needed: writes sample first): %v", err)
	}
	s.disk.sample()
	if err := s.Audit(ctx, Event{EntityType: "token", EntityID: "after", Operation: "detokenize"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenOnFullDiskRefused: a file system with less free space than the reserve is refused
// before Badger opens (its first write would fault): a clear error, and no file is created.
func TestOpenOnFullDiskRefused(t *testing.T) {
	t.Parallel()
	dir := vaultDir(t)
	_, err := Open(Options{Dir: dir, MasterKey: testKey(1), DiskReserve: 1 << 62})
	if !errors.Is(err, ErrDiskLow) || !strings.Contains(err.Error(), "free on the file system of "+dir) {
		t.Fatalf("open below the reserve: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("open below the reserve wrote %d files", len(ents))
	}
}

// mountSmallFS mounts a tmpfs of size bytes on a new directory for the test, or skips the test
// when that is not possible (not root, no mount(8)).
// fillFS writes path until the file system is full.
// TestFullDiskAuditLeavesNoEmptySegments: on a file system with no space left, each failed
// append fails with ErrDiskLow and leaves no file behind (not one empty audit-*.log per
// failure); once space is freed, appends work again.
