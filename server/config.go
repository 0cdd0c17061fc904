package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Config is everything Run needs. Build it with ParseConfig (flags, environment, YAML file) or by
// hand in tests; Run never changes it.
type Config struct {
	Listen      string `yaml:"listen"`
	AdminListen string `yaml:"admin_listen"`
	DataDir     string `yaml:"data_dir"`
	// MasterKeyFile holds base64 of 32 bytes (or the 32 raw bytes).
	MasterKeyFile string `yaml:"master_key_file"`
	AdminKey      string `yaml:"admin_key"`
	Dev           bool   `yaml:"dev"`

	AllowPrivateDestinations bool   `yaml:"allow_private_destinations"`
	AllowHTTPDestinations    bool   `yaml:"allow_http_destinations"`
	DestinationCAFile        string `yaml:"destination_ca_file"`
	EphemeralProxy           *bool  `yaml:"ephemeral_proxy"`

	Limits     Limits     `yaml:"limits"`
	Timeouts   Timeouts   `yaml:"timeouts"`
	RateLimits RateLimits `yaml:"rate_limits"`
	Transforms Transforms `yaml:"transforms"`
	Storage    Storage    `yaml:"storage"`
	Database   Database   `yaml:"database"`
	Audit      Audit      `yaml:"audit"`
	LogLevel   string     `yaml:"log_level"`

	// Set by ParseConfig or the caller, not by the file.
	MasterKey []byte       `yaml:"-"`
	Logger    *slog.Logger `yaml:"-"` // nil: JSON lines to LogOutput
	LogOutput io.Writer    `yaml:"-"` // nil: standard error
	// Stdout receives the one-time dev banner (generated keys). Never the structured log.
	Stdout io.Writer `yaml:"-"`
	// DestinationDial replaces the SSRF-safe egress dialer. Benchmarks set it to reach an
	// in-memory destination; it is never set from flags or files.
	DestinationDial func(addr string) (net.Conn, error) `yaml:"-"`
}

// RateLimits bound how often one caller may call (edge.RateLimits).
type RateLimits = edge.RateLimits

// Limits bound untrusted input; everything over a limit is refused before it is parsed.
type Limits struct {
	APIBodyBytes       int64 `yaml:"api_body_bytes"`
	ModuleBytes        int64 `yaml:"module_bytes"`
	ProxyBodyBytes     int64 `yaml:"proxy_body_bytes"`
	HeaderBytes        int   `yaml:"header_bytes"`
	ProxyTokens        int   `yaml:"proxy_tokens"`
	EphemeralTokens    int   `yaml:"ephemeral_tokens"`
	ReflectTokens      int   `yaml:"reflect_tokens"`
	ExpressionsPerBody int   `yaml:"expressions_per_body"`
	// TokenCacheEntries bounds the cache of sealed token records (negative: off).
	TokenCacheEntries int `yaml:"token_cache_entries"`
	// MaxConnections caps the public listener's open connections (0: derived from the
	// process's open-file limit, see connectionCap); MaxConnectionsPerIP caps them per client
	// address (0: no cap).
	MaxConnections      int `yaml:"max_connections"`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
}

// Transforms bound each WebAssembly transform instance.
type Transforms struct {
	MemoryBytes      int64         `yaml:"memory_bytes"`        // per instance
	CallTimeout      time.Duration `yaml:"call_timeout"`        // per call
	PoolSize         int           `yaml:"pool_size"`           // warm instances per module
	MaxTokensPerCall int           `yaml:"max_tokens_per_call"` // tokens one call may create
	CompileTimeout   time.Duration `yaml:"compile_timeout"`     // per uploaded module
	// CacheDir keeps compiled modules across restarts (default <data_dir>/wasm-cache). Code in it
	// runs in the process: only the user Sluice runs as may write it.
	CacheDir string `yaml:"cache_dir"`
}

// Storage sizes the Badger vault and guards its disk (see RATIONALE.md, "A full disk" and
// "Badger's memory").
type Storage struct {
	// ReserveBytes of free space on the data directory's file system: below it writes and
	// detokenizations get 503 and /readyz says why. Negative turns the guard off.
	ReserveBytes        int64         `yaml:"reserve_bytes"`
	MemTableBytes       int64         `yaml:"memtable_bytes"`
	MemTables           int           `yaml:"memtables"`
	BlockCacheBytes     int64         `yaml:"block_cache_bytes"`
	IndexCacheBytes     int64         `yaml:"index_cache_bytes"`
	Compactors          int           `yaml:"compactors"`
	ValueThresholdBytes int64         `yaml:"value_threshold_bytes"`
	ValueLogFileBytes   int64         `yaml:"value_log_file_bytes"`
	AuditSegmentBytes   int64         `yaml:"audit_segment_bytes"` // one audit journal file, allocated whole
	GCInterval          time.Duration `yaml:"gc_interval"`         // value-log GC and audit retention
}

// Database puts the vault in PostgreSQL instead of Badger (SPEC §11): any number of nodes with
// the same master key share it.
type Database struct {
	// URL is postgres://user:password@host:port/database?sslmode=… ("": Badger in DataDir). It
	// holds a password: it is never logged.
	URL string `yaml:"url"`
	// MaxConns bounds the node's connection pool (0: the URL's pool_max_conns or pgx's default).
	MaxConns int32 `yaml:"max_conns"`
	// AuditWindow, when positive, is how long detokenization audit records gather before their one
	// transaction; 0 (the default) commits as soon as the previous commit ends, taking every
	// record waiting. (audit.sync_interval is Badger's fsync bound, a different thing.)
	AuditWindow time.Duration `yaml:"audit_window"`
}

// Audit configures the audit journal (SPEC §10).
type Audit struct {
	// SyncInterval bounds how long a record waits for fsync after the plaintext left
	// (group commit); 0 syncs before the plaintext leaves.
	SyncInterval time.Duration `yaml:"sync_interval"`
	// Retention drops journal segments whose records are all older; 0 keeps them forever.
	Retention time.Duration `yaml:"retention"`
}

// auditSyncInterval is audit.sync_interval as the stores take it: 0 becomes their "before Audit
// returns".
func (c *Config) auditSyncInterval() time.Duration {
	if c.Audit.SyncInterval == 0 {
		return -1
	}
	return c.Audit.SyncInterval
}

// postgresOptions is the PostgreSQL vault's part of the configuration.
func (c *Config) postgresOptions() store.PostgresOptions {
	return store.PostgresOptions{MasterKey: c.MasterKey, Logger: c.Logger, TokenCacheSize: c.Limits.TokenCacheEntries,
		AuditSyncInterval: c.Database.AuditWindow, AuditRetention: c.Audit.Retention, MaxConns: c.Database.MaxConns}
}

// storeOptions is the Badger vault's part of the configuration.
func (c *Config) storeOptions() store.Options {
	st := c.Storage
	return store.Options{
		Dir: c.DataDir, MasterKey: c.MasterKey, Logger: c.Logger, TokenCacheSize: c.Limits.TokenCacheEntries,
		Sizes: store.Sizes{MemTableBytes: st.MemTableBytes, MemTables: st.MemTables, BlockCacheBytes: st.BlockCacheBytes,
			IndexCacheBytes: st.IndexCacheBytes, Compactors: st.Compactors, ValueThreshold: st.ValueThresholdBytes,
			ValueLogFileBytes: st.ValueLogFileBytes, AuditSegmentBytes: st.AuditSegmentBytes},
		DiskReserve:       st.ReserveBytes,
		AuditSyncInterval: c.auditSyncInterval(),
		AuditRetention:    c.Audit.Retention,
		GCInterval:        st.GCInterval,
	}
}

// Timeouts of the edge, in Go duration syntax in the file ("25s").
type Timeouts struct {
	Destination time.Duration `yaml:"destination"` // until the destination's response headers
	// DestinationBodyIdle is how long the destination's body may pause between reads once its
	// headers have come; the body as a whole has no time limit.
	DestinationBodyIdle time.Duration `yaml:"destination_body_idle"`
	Shutdown            time.Duration `yaml:"shutdown"`
	Idle                time.Duration `yaml:"idle"`
	Read                time.Duration `yaml:"read"`
}

// Defaults returns the configuration of SPEC §1–2.
func Defaults() Config {
	return Config{
		Listen:      ":8080",
		AdminListen: "127.0.0.1:9090",
		DataDir:     "./data",
		Limits: Limits{
			APIBodyBytes:       4 << 20,
			ModuleBytes:        32 << 20,
			ProxyBodyBytes:     128 << 20,
			HeaderBytes:        16 << 10,
			ProxyTokens:        20,
			EphemeralTokens:    100,
			ReflectTokens:      1000,
			ExpressionsPerBody: 1000,
			TokenCacheEntries:  10000,
		},
		Timeouts:   Timeouts{Destination: 25 * time.Second, DestinationBodyIdle: 30 * time.Second, Shutdown: 15 * time.Second, Idle: 60 * time.Second, Read: 60 * time.Second},
		RateLimits: RateLimits{AnonymousRequests: 50, AnonymousWindow: 10 * time.Second, ApplicationWindow: time.Second},
		Transforms: Transforms{MemoryBytes: 32 << 20, CallTimeout: time.Second, PoolSize: 2, MaxTokensPerCall: 100, CompileTimeout: 30 * time.Second},
		Storage:    defaultStorage(),
		Audit:      Audit{SyncInterval: store.DefaultAuditSyncInterval},
		LogLevel:   "info",
	}
}

func defaultStorage() Storage {
	z := store.DefaultSizes()
	return Storage{ReserveBytes: store.DefaultDiskReserve, MemTableBytes: z.MemTableBytes, MemTables: z.MemTables,
		BlockCacheBytes: z.BlockCacheBytes, IndexCacheBytes: z.IndexCacheBytes, Compactors: z.Compactors,
		ValueThresholdBytes: z.ValueThreshold, ValueLogFileBytes: z.ValueLogFileBytes,
		AuditSegmentBytes: z.AuditSegmentBytes, GCInterval: store.DefaultGCInterval}
}

// ParseConfig builds the Config of `sluice serve` from args and the environment: defaults, then
// the YAML file (--config / SLUICE_CONFIG; unknown keys are an error), then environment variables,
// then flags. It resolves the master key (and, with --dev, creates the dev key files).
func ParseConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	cfg := Defaults()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f struct {
		listen, admin, dataDir, keyFile, adminKey, caFile, config, dbURL string
		dev, allowPrivate, allowHTTP                                     bool
	}
	fs.StringVar(&f.listen, "listen", "", "public API and proxy listener")
	fs.StringVar(&f.admin, "admin-listen", "", "health and metrics listener")
	fs.StringVar(&f.dataDir, "data-dir", "", "Badger directory")
	fs.StringVar(&f.keyFile, "master-key-file", "", "file with base64 of the 32-byte master key")
	fs.StringVar(&f.adminKey, "admin-key", "", "bootstrap management API key")
	fs.BoolVar(&f.dev, "dev", false, "development mode: dev master key and admin key in the data dir")
	fs.BoolVar(&f.allowPrivate, "allow-private-destinations", false, "allow loopback/private destinations")
	fs.BoolVar(&f.allowHTTP, "allow-http-destinations", false, "allow http:// destinations")
	fs.StringVar(&f.caFile, "destination-ca-file", "", "extra PEM CA bundle for destinations")
	fs.StringVar(&f.config, "config", "", "YAML configuration file")
	fs.StringVar(&f.dbURL, "database-url", "", "postgres://…: the vault in PostgreSQL instead of Badger")
	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("serve: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	pick := func(flagName, env string) (string, bool) {
		if set[flagName] {
			return fs.Lookup(flagName).Value.String(), true
		}
		if v := getenv(env); v != "" {
			return v, true
		}
		return "", false
	}
	if path, ok := pick("config", "SLUICE_CONFIG"); ok {
		if err := loadYAML(path, &cfg); err != nil {
			return cfg, err
		}
	}
	strs := []struct {
		flag, env string
		dst       *string
	}{
		{"listen", "SLUICE_LISTEN", &cfg.Listen},
		{"admin-listen", "SLUICE_ADMIN_LISTEN", &cfg.AdminListen},
		{"data-dir", "SLUICE_DATA_DIR", &cfg.DataDir},
		{"master-key-file", "", &cfg.MasterKeyFile},
		{"admin-key", "SLUICE_ADMIN_KEY", &cfg.AdminKey},
		{"destination-ca-file", "SLUICE_DESTINATION_CA_FILE", &cfg.DestinationCAFile},
		{"database-url", "SLUICE_DATABASE_URL", &cfg.Database.URL},
	}
	for _, s := range strs {
		if v, ok := pick(s.flag, s.env); ok {
			*s.dst = v
		}
	}
	bools := []struct {
		flag, env string
		dst       *bool
	}{
		{"dev", "SLUICE_DEV", &cfg.Dev},
		{"allow-private-destinations", "SLUICE_ALLOW_PRIVATE_DESTINATIONS", &cfg.AllowPrivateDestinations},
		{"allow-http-destinations", "SLUICE_ALLOW_HTTP_DESTINATIONS", &cfg.AllowHTTPDestinations},
	}
	for _, b := range bools {
		if v, ok := pick(b.flag, b.env); ok {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, fmt.Errorf("serve: %s: %q is not a boolean", b.env, v)
			}
			*b.dst = on
		}
	}
	cfg.Stdout = stdout
	key, err := resolveMasterKey(&cfg, getenv("SLUICE_MASTER_KEY"), !set["master-key-file"])
	if err != nil {
		return cfg, err
	}
	cfg.MasterKey = key
	return cfg, nil
}

func loadYAML(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// resolveMasterKey finds the 32-byte master key: SLUICE_MASTER_KEY unless a --master-key-file flag
// was given, then the file, then (with --dev) <data-dir>/dev-master.key, created on first start.
func resolveMasterKey(cfg *Config, env string, envFirst bool) ([]byte, error) {
	if env != "" && (envFirst || cfg.MasterKeyFile == "") {
		return decodeKey(env, "SLUICE_MASTER_KEY")
	}
	if cfg.MasterKeyFile != "" {
		b, err := os.ReadFile(cfg.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		if len(b) == 32 {
			return b, nil
		}
		return decodeKey(string(b), cfg.MasterKeyFile)
	}
	if !cfg.Dev {
		return nil, errors.New("a master key is required: --master-key-file or SLUICE_MASTER_KEY (base64 of 32 bytes), or --dev for a development key")
	}
	path := filepath.Join(cfg.DataDir, "dev-master.key")
	if b, err := os.ReadFile(path); err == nil {
		return decodeKey(string(b), path)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	banner(cfg.Stdout, "created dev master key in %s (development only; keep it to reopen this vault)", path)
	return key, nil
}

func decodeKey(s, where string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("master key from %s must be base64 of exactly 32 bytes", where)
	}
	return k, nil
}

// devAdminKey returns the admin key to use with --dev and no --admin-key: the one saved in
// <data-dir>/dev-admin.key, or a new one, saved there and printed once.
func devAdminKey(cfg *Config) (string, error) {
	path := filepath.Join(cfg.DataDir, "dev-admin.key")
	if b, err := os.ReadFile(path); err == nil {
		banner(cfg.Stdout, "dev admin key: see %s", path)
		return strings.TrimSpace(string(b)), nil
	}
	key := edge.NewAPIKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	banner(cfg.Stdout, "dev admin key (shown once, also saved in %s): %s", path, key)
	return key, nil
}

func banner(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "sluice: "+format+"\n", args...)
	}
}

func (c *Config) ephemeralProxy() bool { return c.EphemeralProxy == nil || *c.EphemeralProxy }

func (c *Config) slogLevel() slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(c.LogLevel)) != nil {
		return slog.LevelInfo
	}
	return l
}

// Rekey is `sluice rekey`: it rotates the master key of a data directory, or of the vault in the
// PostgreSQL database at --database-url (SLUICE_DATABASE_URL), from the current key
// (SLUICE_MASTER_KEY or --master-key-file) to the new one (SLUICE_NEW_MASTER_KEY or
// --new-master-key-file). A Badger edge must be stopped; PostgreSQL nodes need the new key when
// they next start.
func Rekey(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data-dir", "", "Badger directory")
	oldFile := fs.String("master-key-file", "", "file with the current master key")
	newFile := fs.String("new-master-key-file", "", "file with the new master key")
	dbURL := fs.String("database-url", "", "postgres://…: the vault in PostgreSQL")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	if *dbURL == "" {
		*dbURL = getenv("SLUICE_DATABASE_URL")
	}
	if *dataDir == "" {
		*dataDir = getenv("SLUICE_DATA_DIR")
	}
	if *dataDir == "" && *dbURL == "" {
		return errors.New("rekey: --data-dir or --database-url is required")
	}
	load := func(file, env, what string) ([]byte, error) {
		cfg := Config{MasterKeyFile: file}
		k, err := resolveMasterKey(&cfg, getenv(env), file == "")
		if err != nil {
			return nil, fmt.Errorf("rekey: %s: %w", what, err)
		}
		return k, nil
	}
	oldKey, err := load(*oldFile, "SLUICE_MASTER_KEY", "current key")
	if err != nil {
		return err
	}
	newKey, err := load(*newFile, "SLUICE_NEW_MASTER_KEY", "new key")
	if err != nil {
		return err
	}
	if bytes.Equal(oldKey, newKey) {
		return errors.New("rekey: the new key is the current key")
	}
	if *dbURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), openStoreTimeout)
		defer cancel()
		if err := store.RekeyPostgres(ctx, *dbURL, oldKey, newKey); err != nil {
			if errors.Is(err, store.ErrWrongKey) {
				return errors.New("rekey: the current key does not open the vault in the database")
			}
			return err
		}
		return nil
	}
	if err := store.Rekey(*dataDir, oldKey, newKey, 0); err != nil {
		if errors.Is(err, store.ErrWrongKey) {
			return errors.New("rekey: the current key does not open " + *dataDir + " (if an earlier rekey was interrupted after rotating, the new key already opens it)")
		}
		return err
	}
	return nil
}
