package store

import (
	"fmt"
	"testing"
	"time"
)

// TestAuditRetentionDropsOldSegments: with a retention, the upkeep removes the journal segments
// whose events are all older, keeps the one that straddles the cutoff and everything newer, and
// queries list the rest; without one (the default), nothing is removed.
func TestAuditRetentionDropsOldSegments(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		keptOld   bool
	}{
		{"forever", 0, true},
		{"one day", 24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, t.TempDir(), Options{})
			j := s.journal
			j.rotateBytes, j.markBytes = 2<<10, 512
			now := time.Now().UTC()
			audit := func(prefix string, at time.Time, n int) {
				for i := 0; i < n; i++ {
					ev := Event{EntityType: "token", EntityID: fmt.Sprintf("%s-%d", prefix, i), Operation: "detokenize", CreatedAt: at}
					if err := s.Audit(ctx, ev); err != nil {
						t.Fatal(err)
					}
				}
			}
			audit("old", now.Add(-72*time.Hour), 60)
			audit("new", now, 60)
			before, _ := j.files()
			if err := s.collect(tc.retention); err != nil {
				t.Fatal(err)
			}
			after, _ := j.files()
			old, recent, cursor := 0, 0, ""
			for {
				evs, next, err := s.Events(ctx, EventQuery{Size: 100, Start: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if ev.CreatedAt.Before(now.Add(-time.Hour)) {
						old++
					} else {
						recent++
					}
				}
				if cursor = next; next == "" {
					break
				}
			}
			if recent != 60 {
				t.Fatalf("%d recent events listed, want 60", recent)
			}
			if tc.keptOld {
				if len(after) != len(before) || old != 60 {
					t.Fatalf("no retention: %d of %d segments, %d old events", len(after), len(before), old)
				}
				return
			}
			if len(after) >= len(before) || old >= 60 {
				t.Fatalf("retention: %d of %d segments left, %d old events", len(after), len(before), old)
			}
			// Nothing newer than the cutoff is gone: the oldest segment left starts before it
			// or holds only recent events.
			t.Logf("%d of %d segments left, %d old events in the one that straddles the cutoff", len(after), len(before), old)
		})
	}
}
