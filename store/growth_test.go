package store

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// diskUsage is the space the files under dir take on disk (allocated blocks, not apparent
// sizes: Badger's mapped files are sparse).
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Sys().(*syscall.Stat_t).Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fillTokens(t *testing.T, s Store, prefix string, n int) {
	t.Helper()
	data := []byte(`"` + strings.Repeat("s", 16000) + `"`)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%06d", prefix, i)
		tok := &Token{ID: id, Type: "token", Data: data, Containers: []string{"/general/high/"}}
		if _, _, err := s.CreateToken(ctx, tok, false, Event{EntityType: "token", EntityID: id, Operation: "create"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeletedTokensSpaceReclaimed: create N tokens, delete them, run the upkeep: the data
// directory shrinks back to within 2x of a fresh vault that holds the same live tokens.
func TestDeletedTokensSpaceReclaimed(t *testing.T) {
	t.Parallel()
	const n, live = 1000, 100
	// Flushes, compactions and value-log files at test scale; the tokens go to the value log.
	small := Sizes{MemTableBytes: 1 << 20, ValueThreshold: 8 << 10, ValueLogFileBytes: 1 << 20}
	fresh := openWith(t, vaultDir(t), Options{Sizes: small})
	fillTokens(t, fresh, "live", live)
	fresh.collect(0)
	want := diskUsage(t, fresh.db.Opts().Dir)

	dir := vaultDir(t)
	s := openWith(t, dir, Options{Sizes: small})
	fillTokens(t, s, "live", live)
	fillTokens(t, s, "gone", n)
	full := diskUsage(t, dir)
	for i := 0; i < n; i++ {
		if err := s.DeleteToken(ctx, fmt.Sprintf("gone-%06d", i), Event{EntityType: "token", Operation: "delete"}); err != nil {
			t.Fatal(err)
		}
	}
	deleted := diskUsage(t, dir)
	s.collect(0)
	got := diskUsage(t, dir)
	t.Logf("fresh %d KiB; %d more created %d KiB; deleted %d KiB; after upkeep %d KiB", want>>10, n, full>>10, deleted>>10, got>>10)
	if got > 2*want {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			fi, _ := e.Info()
			t.Logf("%s: %d bytes, %d allocated", e.Name(), fi.Size(), fi.Sys().(*syscall.Stat_t).Blocks*512)
		}
		t.Fatalf("after delete and upkeep the vault takes %d KiB, a fresh one with the same tokens %d KiB", got>>10, want>>10)
	}
}
