package journal

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

// holdFsync replaces j's fdatasync with one that counts calls and blocks until release is
// called (at the latest when the test ends, before the journal closes).
func holdFsync(t *testing.T, j *Journal) (calls *atomic.Int64, release func()) {
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

// TestAuditSyncIntervalZeroWaitsForFsync: with audit.sync_interval 0, Append returns only after
// an fdatasync that covers its record.
func TestAuditSyncIntervalZeroWaitsForFsync(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		j := openJournal(t, t.TempDir(), 0)
		defer j.Close()
		j.noMap = writeOnly
		calls, release := holdFsync(t, j)
		done := make(chan error, 1)
		go func() { done <- j.Append([]Event{detok("a")}) }()
		for calls.Load() == 0 {
			select {
			case err := <-done:
				t.Fatalf("Append returned (%v) before any fsync", err)
			case <-time.After(time.Millisecond):
			}
		}
		select {
		case err := <-done:
			t.Fatalf("Append returned (%v) while its fsync was still running", err)
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

// TestAuditSyncIntervalGroupCommits: with an interval Append does not wait for fsync (held
// here), and the records of the window reach stable storage in one fdatasync.
func TestAuditSyncIntervalGroupCommits(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		j := openJournal(t, t.TempDir(), testSyncEvery)
		defer j.Close()
		j.noMap = writeOnly
		calls, release := holdFsync(t, j)
		const n = 50
		for i := 0; i < n; i++ { // every one returns while no fsync can finish
			if err := j.Append([]Event{detok(fmt.Sprint(i))}); err != nil {
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
	j := openJournal(t, t.TempDir(), 0)
	defer j.Close()
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
	for i := 0; i < 3; i++ {
		if err := j.Append([]Event{detok("x")}); !errors.Is(err, syscall.EIO) {
			t.Fatalf("append %d while fsync fails: %v", i, err)
		}
	}
	fail.Store(false)
	if err := j.Append([]Event{detok("x")}); err != nil {
		t.Fatalf("once fsync works again: %v", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.synced != j.appended {
		t.Fatalf("synced %d of %d", j.synced, j.appended)
	}
}

// TestDropBeforeRemovesOldSegments: DropBefore removes the segments whose events are all older
// than the cutoff, keeps the one that straddles it and everything newer, and queries list the
// rest.
func TestDropBeforeRemovesOldSegments(t *testing.T) {
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	j.rotateBytes, j.markBytes = 2<<10, 512
	now := time.Now().UTC()
	audit := func(prefix string, at time.Time, n int) {
		for i := 0; i < n; i++ {
			ev := detok(fmt.Sprintf("%s-%d", prefix, i))
			ev.CreatedAt = at
			if err := j.Append([]Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
	}
	audit("old", now.Add(-72*time.Hour), 60)
	audit("new", now, 60)
	before, _ := j.files()
	if err := j.DropBefore(now.Add(-24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	after, _ := j.files()
	old, recent := 0, 0
	for _, ev := range all(t, j, "") {
		if ev.CreatedAt.Before(now.Add(-time.Hour)) {
			old++
		} else {
			recent++
		}
	}
	if recent != 60 {
		t.Fatalf("%d recent events listed, want 60", recent)
	}
	if len(after) >= len(before) || old >= 60 {
		t.Fatalf("retention: %d of %d segments left, %d old events", len(after), len(before), old)
	}
	t.Logf("%d of %d segments left, %d old events in the one that straddles the cutoff", len(after), len(before), old)
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

// TestFullDiskAppendLeavesNoEmptySegments: on a file system with no space left, each failed
// append fails with ErrNoSpace and leaves no file behind (not one empty audit-*.log per
// failure); once space is freed, appends work again.
func TestFullDiskAppendLeavesNoEmptySegments(t *testing.T) {
	journalModes(t, func(t *testing.T, writeOnly bool) {
		mnt := mountSmallFS(t, 64<<20)
		j := openJournal(t, filepath.Join(mnt, "audit"), testSyncEvery)
		defer j.Close()
		j.noMap = writeOnly
		j.rotateBytes = 1 << 20
		if err := j.Append([]Event{detok("before")}); err != nil {
			t.Fatal(err)
		}
		before, _ := j.files()
		ballast := filepath.Join(mnt, "ballast")
		fillFS(t, ballast)
		failed := 0
		big := detok(strings.Repeat("x", 60000))
		for i := 0; i < 210; i++ {
			evs := make([]Event, 20) // ~1.2 MB: past the segment, onto a new one
			for k := range evs {
				evs[k] = big
			}
			if err := j.Append(evs); err != nil {
				if !errors.Is(err, ErrNoSpace) {
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
		if err := j.Append([]Event{detok("after")}); err != nil {
			t.Fatalf("append once space is back: %v", err)
		}
		evs := all(t, j, "detokenize")
		got := []string{evs[0].EntityID, evs[len(evs)-1].EntityID}
		if got[0] != "after" || got[1] != "before" {
			t.Fatalf("events %v", got)
		}
	})
}
