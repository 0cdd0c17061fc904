package store

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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
func holdFsync(t *testing.T, j *journal) (calls *atomic.Int64, release func()) {
	calls = new(atomic.Int64)
	held := make(chan struct{})
	release = sync.OnceFunc(func() { close(held) })
	j.mu.Lock()
	j.fsync = func(f *os.File) error {
		calls.Add(1)
		<-held
		return fdatasync(f)
	}
	j.mu.Unlock()
	t.Cleanup(release)
	return calls, release
}

// TestAuditSyncIntervalZeroWaitsForFsync: with audit.sync_interval 0, Audit returns only after
// an fdatasync that covers its record.
func TestAuditSyncIntervalZeroWaitsForFsync(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		s := openWith(t, t.TempDir(), Options{AuditSyncInterval: -1})
		j := s.journal
		j.noMap = writeOnly
		calls, release := holdFsync(t, j)
		done := make(chan error, 1)
		go func() { done <- s.Audit(ctx, Event{EntityType: "token", EntityID: "a", Operation: "detokenize"}) }()
		for calls.Load() == 0 {
			select {
			case err := <-done:
				t.Fatalf("Audit returned (%v) before any fsync", err)
			case <-time.After(time.Millisecond):
			}
		}
		select {
		case err := <-done:
			t.Fatalf("Audit returned (%v) while its fsync was still running", err)
		case <-time.After(20 * time.Millisecond):
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.synced != j.appended || j.appended != 1 {
			t.Fatalf("synced %d of %d records", j.synced, j.appended)
		}
	})
}

// TestAuditSyncIntervalDefaultGroupCommits: with the default interval Audit does not wait for
// fsync (held here), and the records of the window reach stable storage in one fdatasync.
func TestAuditSyncIntervalDefaultGroupCommits(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		s := openWith(t, t.TempDir(), Options{})
		j := s.journal
		if j.syncEvery != DefaultAuditSyncInterval {
			t.Fatalf("sync interval %v", j.syncEvery)
		}
		j.noMap = writeOnly
		calls, release := holdFsync(t, j)
		const n = 50
		for i := 0; i < n; i++ { // every one returns while no fsync can finish
			if err := s.Audit(ctx, Event{EntityType: "token", EntityID: fmt.Sprint(i), Operation: "detokenize"}); err != nil {
				t.Fatal(err)
			}
		}
		release()
		deadline := time.Now().Add(10 * time.Second)
		for {
			j.mu.Lock()
			synced := j.synced
			j.mu.Unlock()
			if synced == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d records synced", synced, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if c := calls.Load(); c < 1 || c > n/2 {
			t.Fatalf("%d fsyncs for %d records: not group-committed", c, n)
		}
	})
}

// TestAuditFsyncFailureFailsClosed: when an fdatasync fails, appends fail (their plaintext must
// not leave) until a sync succeeds again.
func TestAuditFsyncFailureFailsClosed(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{AuditSyncInterval: -1})
	j := s.journal
	var fail atomic.Bool
	fail.Store(true)
	j.mu.Lock()
	j.fsync = func(f *os.File) error {
		if fail.Load() {
			return syscall.EIO
		}
		return fdatasync(f)
	}
	j.mu.Unlock()
	ev := Event{EntityType: "token", EntityID: "x", Operation: "detokenize"}
	for i := 0; i < 3; i++ {
		if err := s.Audit(ctx, ev); !errors.Is(err, syscall.EIO) {
			t.Fatalf("append %d while fsync fails: %v", i, err)
		}
	}
	fail.Store(false)
	if err := s.Audit(ctx, ev); err != nil {
		t.Fatalf("once fsync works again: %v", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.synced != j.appended {
		t.Fatalf("synced %d of %d", j.synced, j.appended)
	}
}

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
	s := openWith(t, t.TempDir(), Options{DiskReserve: 64 << 20})
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
	dir := t.TempDir()
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
func mountSmallFS(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (run as root to test a full disk)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillFS writes path until the file system is full.
func fillFS(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestFullDiskAuditLeavesNoEmptySegments: on a file system with no space left, each failed
// append fails with ErrDiskLow and leaves no file behind (not one empty audit-*.log per
// failure); once space is freed, appends work again.
func TestFullDiskAuditLeavesNoEmptySegments(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		mnt := mountSmallFS(t, 64<<20)
		s := openWith(t, filepath.Join(mnt, "vault"), Options{DiskReserve: -1})
		j := s.journal
		j.noMap = writeOnly
		j.rotateBytes = 1 << 20
		if err := s.Audit(ctx, Event{EntityType: "token", EntityID: "before", Operation: "detokenize"}); err != nil {
			t.Fatal(err)
		}
		before, _ := j.files()
		ballast := filepath.Join(mnt, "ballast")
		fillFS(t, ballast)
		failed := 0
		big := Event{EntityType: "token", EntityID: strings.Repeat("x", 60000), Operation: "detokenize"}
		for i := 0; i < 210; i++ {
			evs := make([]Event, 20) // ~1.2 MB: past the segment, onto a new one
			for k := range evs {
				evs[k] = big
			}
			if err := s.Audit(ctx, evs...); err != nil {
				if !errors.Is(err, ErrDiskLow) {
					t.Fatalf("append on a full disk: %v", err)
				}
				failed++
			}
		}
		if failed < 200 {
			t.Fatalf("only %d of 210 appends failed: the disk was not full", failed)
		}
		after, _ := j.files()
		if len(after) > len(before)+1 {
			t.Fatalf("%d failed appends left %d new segment files", failed, len(after)-len(before))
		}
		for _, seq := range after {
			if fi, err := os.Stat(j.path(seq)); err == nil && fi.Size() == 0 {
				t.Fatalf("empty segment %s left behind", filepath.Base(j.path(seq)))
			}
		}
		os.Remove(ballast)
		if err := s.Audit(ctx, Event{EntityType: "token", EntityID: "after", Operation: "detokenize"}); err != nil {
			t.Fatalf("append once space is back: %v", err)
		}
		evs, _, err := s.Events(ctx, EventQuery{Operation: "detokenize", Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{evs[0].EntityID, evs[len(evs)-1].EntityID}
		if got[0] != "after" || got[1] != "before" {
			t.Fatalf("events %v", got)
		}
	})
}
