package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAuditSegmentFollowsSizes: the audit journal's segment is allocated at Sizes.AuditSegmentBytes
// (64 MiB by default, at least 1 MiB), so a vault at a small scale does not allocate 64 MiB for its
// first event.
func TestAuditSegmentFollowsSizes(t *testing.T) {
	for _, want := range []int64{1 << 20, 4 << 20} {
		dir := vaultDir(t)
		z := SizesAtTestScale
		z.AuditSegmentBytes = want
		s, err := Open(Options{Dir: dir, MasterKey: testKey(3), Sizes: z})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Audit(context.Background(), Event{ID: "ev_1", EntityType: "token", EntityID: "tok_1", Operation: "create", Actor: "app_1", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		segs, _ := filepath.Glob(filepath.Join(dir, "audit", "audit-*.log"))
		if len(segs) != 1 {
			t.Fatalf("%d journal segments, want 1", len(segs))
		}
		fi, err := os.Stat(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if fi.Size() != want {
			t.Errorf("segment of %d bytes with AuditSegmentBytes %d", fi.Size(), want)
		}
	}
	z := SizesAtTestScale
	z.AuditSegmentBytes = MinAuditSegmentBytes - 1
	if _, err := Open(Options{Dir: vaultDir(t), MasterKey: testKey(3), Sizes: z}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a segment of %d bytes: %v, want ErrInvalidInput", z.AuditSegmentBytes, err)
	}
	if got := DefaultSizes().AuditSegmentBytes; got != 64<<20 {
		t.Errorf("default audit segment %d bytes, want 64 MiB", got)
	}
}
