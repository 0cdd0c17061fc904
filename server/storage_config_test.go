package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// TestStorageAndAuditKeysReachTheVault: the storage and audit keys of the config file become
// the vault's options; audit.sync_interval 0 means "fsync before the plaintext leaves" (the
// store's negative interval), its default is 10 ms.
func TestStorageAndAuditKeysReachTheVault(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yaml     string
		sync     time.Duration
		reserve  int64
		memtable int64
		keep     time.Duration
	}{
		{"defaults", "", store.DefaultAuditSyncInterval, store.DefaultDiskReserve, 8 << 20, 0},
		{"sync before forwarding", "audit:\n  sync_interval: 0s\n", -1, store.DefaultDiskReserve, 8 << 20, 0},
		{"set", "audit:\n  sync_interval: 50ms\n  retention: 720h\nstorage:\n  reserve_bytes: 1048576\n  memtable_bytes: 4194304\n",
			50 * time.Millisecond, 1 << 20, 4 << 20, 720 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(file, []byte(tc.yaml), 0o600)
			cfg, err := ParseConfig([]string{"--config", file}, envOf(map[string]string{"SLUICE_MASTER_KEY": key64}), nil)
			if err != nil {
				t.Fatal(err)
			}
			o := cfg.storeOptions()
			if o.AuditSyncInterval != tc.sync || o.DiskReserve != tc.reserve || o.Sizes.MemTableBytes != tc.memtable || o.AuditRetention != tc.keep {
				t.Fatalf("options %+v", o)
			}
		})
	}
}
