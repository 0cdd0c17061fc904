package journal

import (
	"fmt"
	"testing"
)

// TestJournalPrefaultsAhead: appends across several prefault steps of a mapped segment keep the
// readied range ahead of the write position, and every event reads back.
func TestJournalPrefaultsAhead(t *testing.T) {
	j := openJournal(t, t.TempDir(), testSyncEvery)
	defer j.Close()
	j.rotateBytes = 1 << 20
	const n = 3000 // ~0.8 MiB of records: three prefault steps and more
	for i := 0; i < n; i++ {
		if err := j.Append([]Event{{EntityType: "token", EntityID: fmt.Sprintf("t%d", i), Operation: "detokenize", Actor: "a"}}); err != nil {
			t.Fatal(err)
		}
		if j.mapped == nil {
			t.Skip("the file system cannot map segments here")
		}
		if used := int(j.segs[len(j.segs)-1].size); j.mapped.populated < min(used+prefaultStep/2, len(j.mapped.mem)) {
			t.Fatalf("after %d bytes only %d readied", used, j.mapped.populated)
		}
	}
	seen, cursor := 0, ""
	for {
		page, next, err := page(j, 100, cursor, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page {
			if want := fmt.Sprintf("t%d", n-1-seen); ev.EntityID != want {
				t.Fatalf("event %d is %s, want %s", seen, ev.EntityID, want)
			}
			seen++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if seen != n {
		t.Fatalf("read back %d events, want %d", seen, n)
	}
}
