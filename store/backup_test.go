package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backupOf fills a vault in a new directory and returns its backup (taken while it is open)
// and what it holds.
func backupOf(t *testing.T, key []byte, tokens int) ([]byte, filled) {
	t.Helper()
	st := openEdgeSized(t, vaultDir(t), key)
	defer st.Close()
	f := fillVault(t, st, tokens)
	var buf bytes.Buffer
	stats, err := WriteBackup(ctx, st, key, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bytes != int64(buf.Len()) || stats.Segments == 0 || stats.AuditBytes == 0 {
		t.Fatalf("stats %+v for %d bytes", stats, buf.Len())
	}
	return buf.Bytes(), f
}

func TestBackupRestoreKeepsEveryRecord(t *testing.T) {
	t.Parallel()
	key := testKey(7)
	file, f := backupOf(t, key, 1500)
	if bytes.Contains(file, []byte("s3cret-")) || bytes.Contains(file, []byte("payments")) || bytes.Contains(file, []byte("424200000000")) {
		t.Fatal("the backup file holds plaintext")
	}
	dir := filepath.Join(vaultDir(t), "restored")
	if _, err := RestoreBackup(bytes.NewReader(file), dir, key); err != nil {
		t.Fatal(err)
	}
	st := openAt(t, dir, key)
	defer st.Close()
	checkVault(t, st, f, 97)
}

func TestRestoreRefusesWrongMasterKey(t *testing.T) {
	t.Parallel()
	file, _ := backupOf(t, testKey(7), 10)
	dir := filepath.Join(vaultDir(t), "restored")
	if _, err := RestoreBackup(bytes.NewReader(file), dir, testKey(8)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("restore with another master key: %v, want ErrWrongKey", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused restore created the directory")
	}
}

func TestRestoreRefusesNonEmptyDir(t *testing.T) {
	t.Parallel()
	key := testKey(7)
	file, _ := backupOf(t, key, 10)
	dir := vaultDir(t)
	mine := filepath.Join(dir, "keep.txt")
	os.WriteFile(mine, []byte("mine"), 0o600)
	if _, err := RestoreBackup(bytes.NewReader(file), dir, key); err == nil {
		t.Fatal("restore into a non-empty directory succeeded")
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "mine" {
		t.Fatal("a refused restore touched the directory's files")
	}
}

// TestRestoreRefusesDamagedBackup: a backup cut short, with a flipped byte, with bytes added,
// or with a chunk dropped or repeated is ErrBackupDamaged, and the failed restore leaves no
// directory behind.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	t.Parallel()
	key := testKey(7)
	file, _ := backupOf(t, key, 10)
	chunks := splitChunks(t, file)
	hdr := len(backupMagic) + backupSaltLen + 29
	without := func(i int) []byte {
		return append(bytes.Clone(file[:chunks[i][0]]), file[chunks[i][1]:]...)
	}
	again := func(i int) []byte {
		return append(bytes.Clone(file[:chunks[i][1]]), file[chunks[i][0]:]...)
	}
	flip := func(at int) []byte { c := bytes.Clone(file); c[at] ^= 1; return c }
	cases := []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"header only", file[:hdr]},
		{"cut before the end chunk", file[:chunks[len(chunks)-1][0]]},
		{"cut inside the last chunk", file[:len(file)-3]},
		{"cut in the middle", file[:len(file)/2]},
		{"flipped magic", flip(0)},
		{"flipped salt", flip(len(backupMagic) + 1)},
		{"flipped first chunk", flip(hdr + 10)},
		{"flipped length", flip(chunks[1][0] + 2)},
		{"flipped last byte", flip(len(file) - 1)},
		{"bytes after the end", append(bytes.Clone(file), 0)},
		{"first chunk dropped", without(0)},
		{"a journal chunk dropped", without(len(chunks) - 2)},
		{"first chunk repeated", again(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(vaultDir(t), "restored")
			_, err := RestoreBackup(bytes.NewReader(c.file), dir, key)
			if !errors.Is(err, ErrBackupDamaged) && !errors.Is(err, ErrWrongKey) {
				t.Fatalf("restore: %v, want ErrBackupDamaged", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a failed restore left its directory behind")
			}
		})
	}
}

// splitChunks returns the [start, end) of each chunk of a backup file.
func splitChunks(t *testing.T, file []byte) [][2]int {
	t.Helper()
	var out [][2]int
	off := len(backupMagic) + backupSaltLen + 29
	for off < len(file) {
		n := int(file[off])<<24 | int(file[off+1])<<16 | int(file[off+2])<<8 | int(file[off+3])
		out = append(out, [2]int{off, off + 4 + n})
		off += 4 + n
	}
	if len(out) < 4 {
		t.Fatalf("%d chunks", len(out))
	}
	return out
}

// TestBackupUnderWritesIsConsistent backs a vault up while writers create tokens in batches
// (one transaction each) and audit reads: the restored vault holds every batch acknowledged
// before the backup began, and each batch either whole or not at all.
func TestBackupUnderWritesIsConsistent(t *testing.T) {
	key := testKey(3)
	st := openAt(t, vaultDir(t), key)
	defer st.Close()
	const per = 50
	var acked atomic.Int64 // batches acknowledged
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := fmt.Sprintf("w%d-%d", w, b)
				var reqs []TokenCreate
				for i := 0; i < per; i++ {
					tok := card(fmt.Sprintf("%s-%d", batch, i), "4242424242424242")
					tok.Metadata = map[string]string{"batch": batch}
					reqs = append(reqs, TokenCreate{Token: tok, Event: Event{Actor: "w", Operation: "create", EntityType: "token", EntityID: tok.ID}})
				}
				if _, err := st.CreateTokens(ctx, reqs); err != nil {
					t.Error(err)
					return
				}
				st.Audit(ctx, Event{Actor: "w", Operation: "read", EntityType: "token", EntityID: batch})
				acked.Add(1)
			}
		}()
	}
	for acked.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	before := acked.Load()
	var buf bytes.Buffer
	_, err := WriteBackup(ctx, st, key, &buf)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(vaultDir(t), "restored")
	if _, err := RestoreBackup(&buf, dir, key); err != nil {
		t.Fatal(err)
	}
	r := openAt(t, dir, key)
	defer r.Close()
	batches := map[string]int{}
	for page := (TokenPage{Next: "first"}); page.Next != ""; {
		start := page.Next
		if start == "first" {
			start = ""
		}
		if page, err = r.ListTokens(ctx, TokenQuery{Start: start, Size: 1000}); err != nil {
			t.Fatal(err)
		}
		for _, tok := range page.Tokens {
			batches[tok.Metadata["batch"]]++
		}
	}
	if int64(len(batches)) < before {
		t.Fatalf("the backup holds %d batches, %d were acknowledged before it began", len(batches), before)
	}
	for b, n := range batches {
		if n != per {
			t.Fatalf("batch %s holds %d of its %d tokens", b, n, per)
		}
	}
	t.Logf("%d batches acknowledged before the backup, %d in it, %d by the end", before, len(batches), acked.Load())
}
