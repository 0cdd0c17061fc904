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
	t.Parallel()
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

// TestDatabaseURLFromFlagEnvAndFile: the database URL comes from --database-url, then
// SLUICE_DATABASE_URL, then database.url; with it the PostgreSQL vault gets the same master key,
// token cache and audit retention as Badger would, database.max_conns, and database.audit_window
// (not audit.sync_interval, which is Badger's fsync bound).
func TestDatabaseURLFromFlagEnvAndFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("database:\n  url: postgres://file/db\n  max_conns: 7\n  audit_window: 3ms\naudit:\n  sync_interval: 0s\n  retention: 24h\nlimits:\n  token_cache_entries: 5\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"file", nil, "", "postgres://file/db"},
		{"env beats file", nil, "postgres://env/db", "postgres://env/db"},
		{"flag beats env", []string{"--database-url", "postgres://flag/db"}, "postgres://env/db", "postgres://flag/db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(append([]string{"--config", file}, tc.args...),
				envOf(map[string]string{"SLUICE_MASTER_KEY": key64, "SLUICE_DATABASE_URL": tc.env}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Database.URL != tc.want {
				t.Fatalf("database url %q, want %q", cfg.Database.URL, tc.want)
			}
			o := cfg.postgresOptions()
			if o.MaxConns != 7 || o.AuditSyncInterval != 3*time.Millisecond || o.AuditRetention != 24*time.Hour || o.TokenCacheSize != 5 || len(o.MasterKey) != 32 {
				t.Fatalf("options %+v", o)
			}
		})
	}
}
