package store

import "testing"

// TestBaseTableFollowsASmallMemtable: a vault with a small memtable flushes into base tables of
// a quarter of it, so that each flush does not allocate Badger's 4 MiB table buffer for a table
// that holds at most the memtable; the default sizes keep Badger's 2 MiB.
func TestBaseTableFollowsASmallMemtable(t *testing.T) {
	for _, c := range []struct {
		memtable, want int64
	}{
		{1 << 20, 256 << 10},
		{0, 2 << 20}, // DefaultSizes: 8 MiB memtables
		{64 << 20, 2 << 20},
	} {
		if got := badgerOptions(Options{Sizes: Sizes{MemTableBytes: c.memtable}}).BaseTableSize; got != c.want {
			t.Errorf("memtable of %d bytes: base table of %d bytes, want %d", c.memtable, got, c.want)
		}
	}
}
