package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestBadgerRefusesAMemtableTooSmallToWrite: storage.memtable_bytes below MinMemTableBytes is
// refused at Open with an error naming it. Below 20 bytes Badger's Open divided by zero (a
// panic at start); a few KiB opened a vault in which every write failed (a batch holds at most
// 15% of a memtable); a few tens of KiB made base tables of a few KiB, thousands of files
// for a vault of some MiB. The smallest memtable allowed opens and writes.
func TestBadgerRefusesAMemtableTooSmallToWrite(t *testing.T) {
	for _, memtable := range []int64{1, 16, 4 << 10, 64 << 10, MinMemTableBytes - 1} {
		t.Run(fmt.Sprint(memtable), func(t *testing.T) {
			st, err := Open(Options{Dir: t.TempDir(), MasterKey: testKey(1), DiskReserve: -1, Sizes: Sizes{MemTableBytes: memtable}})
			if err == nil {
				st.Close()
				t.Fatalf("a vault with memtables of %d bytes opened", memtable)
			}
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("memtables of %d bytes: %v, want ErrInvalidInput", memtable, err)
			}
		})
	}
	st, err := Open(Options{Dir: t.TempDir(), MasterKey: testKey(1), DiskReserve: -1, Sizes: Sizes{MemTableBytes: MinMemTableBytes}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.CreateToken(context.Background(), &Token{ID: "t", Type: "token", Data: []byte(`"v"`)}, false, Event{Operation: "create"}); err != nil {
		t.Fatalf("a write with the smallest memtable: %v", err)
	}
	if got := badgerOptions(Options{Sizes: Sizes{MemTableBytes: MinMemTableBytes}}).BaseTableSize; got < 256<<10 {
		t.Errorf("base tables of %d bytes with the smallest memtable", got)
	}
}
