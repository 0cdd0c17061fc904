package store

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// ErrSchemaTooNew: the database was migrated by a newer version of Sluice than this node.
var ErrSchemaTooNew = errors.New("store: the database schema is newer than this node knows")

// PostgresOptions configure OpenPostgres. Zero values mean the defaults named on each field.
type PostgresOptions struct {
	MasterKey []byte       // 32 bytes, the same on every node
	Logger    *slog.Logger // nil discards
	// TokenCacheSize bounds this node's cache of sealed token records (entries); 0 means
	// 10,000, negative disables it.
	TokenCacheSize int
	// AuditSyncInterval, when positive, is how long Audit's group commit gathers records before
	// their one transaction. Zero or negative (the default) is the natural group commit: a
	// commit starts as soon as the previous one ends and takes every record waiting.
	AuditSyncInterval time.Duration
	// MaxConns bounds the connection pool; 0 takes the URL's pool_max_conns or pgxpool's
	// default (4, or the number of CPUs if more).
	MaxConns int32
	// ConnectTimeout bounds one connection attempt; 0 takes the URL's connect_timeout or 5 s.
	ConnectTimeout time.Duration
	// HealthInterval is how often the database is pinged for Ready; 0 means 1 s.
	HealthInterval time.Duration
	// SweepInterval is how often expired tokens and lapsed short-lived fields are deleted; 0
	// means 1 minute.
	SweepInterval time.Duration
	// AuditRetention deletes audit events older than this at each sweep; 0 keeps them forever.
	AuditRetention time.Duration
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step: migrations/<version>_<what>.sql.
type migration struct {
	version int
	sql     string
}

// migrations are the schema steps this node knows, oldest first.
func migrations() []migration {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic("store: embedded migrations: " + err.Error())
	}
	var out []migration
	for _, e := range ents {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			panic("store: migration without a version: " + e.Name())
		}
		b, _ := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		out = append(out, migration{version: v, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out
}

// migrationLock is the pg_advisory_lock key every node takes to migrate: nodes starting
// together migrate once.
const migrationLock = 0x736c75696365 // "sluice"

// pgStore is the Store on PostgreSQL: any number of nodes share one database.
type pgStore struct {
	*vaultKeys
	pool   *pgxpool.Pool
	cache  *sealedCache
	audit  *pgAudit
	feed   *changeFeed
	log    *slog.Logger
	out    *outage
	health *healthConn // the health check's connection (only ping uses it)
	// pingTimeout bounds a ping: the health check's, and the pool's and the audit log's of a
	// connection that sat idle.
	pingTimeout time.Duration
	closed      atomic.Bool
	stop        chan struct{}
	done        sync.WaitGroup
	cancel      context.CancelFunc // ends the change feed
}

var _ Store = (*pgStore)(nil)

// OpenPostgres connects to the vault in the PostgreSQL database at url (postgres://…, TLS per
// sslmode), migrates its schema (once, under an advisory lock, however many nodes start
// together) and returns it as a Store. A database migrated by a newer node is refused with
// ErrSchemaTooNew; a master key that does not open its root secret with ErrWrongKey; an
// unreachable database with ErrUnavailable.
func OpenPostgres(ctx context.Context, url string, opt PostgresOptions) (Store, error) {
	if len(opt.MasterKey) != seal.KeySize {
		return nil, errors.New("store: master key must be 32 bytes")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("store: the database URL does not parse (postgres://user:password@host:port/database?sslmode=…)")
	}
	if opt.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	} else if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	out, pingTimeout := newOutage(), min(maxPingTimeout, cfg.ConnConfig.ConnectTimeout)
	watchPool(cfg, out, pingTimeout)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, pgErr(err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	root, err := postgresRoot(ctx, pool, opt.MasterKey)
	if err != nil {
		pool.Close()
		return nil, err
	}
	keys, err := newVaultKeys(root)
	clear(root)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &pgStore{vaultKeys: keys, pool: pool, cache: newSealedCache(cacheSize(opt.TokenCacheSize)), log: opt.Logger,
		out: out, health: newHealthConn(cfg.ConnConfig.Config.Copy()), pingTimeout: pingTimeout, stop: make(chan struct{})}
	if s.feed, err = startChangeFeed(ctx, pool, s.cache); err != nil {
		pool.Close()
		return nil, err
	}
	feedCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		s.feed.run(feedCtx)
	}()
	s.audit = newPgAudit(cfg.ConnConfig.Config.Copy(), max(opt.AuditSyncInterval, 0), out, pingTimeout)
	s.background(opt)
	return s, nil
}

// migrate brings the schema to the newest version this node knows, holding the migration lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return pgErr(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return pgErr(err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    int PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return pgErr(err)
	}
	var have int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&have); err != nil {
		return pgErr(err)
	}
	ms := migrations()
	if latest := ms[len(ms)-1].version; have > latest {
		return fmt.Errorf("%w: the database is at schema version %d, this node knows up to %d: upgrade the node", ErrSchemaTooNew, have, latest)
	}
	for _, m := range ms {
		if m.version <= have {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: schema migration %d: %w", m.version, pgErr(err))
		}
	}
	return nil
}

// postgresRoot returns the vault's root secret, creating it on first start: random, wrapped by
// a key derived from the master key, exactly as Badger keeps it.
func postgresRoot(ctx context.Context, pool *pgxpool.Pool, master []byte) ([]byte, error) {
	kek, err := rootKEK(master)
	if err != nil {
		return nil, err
	}
	fresh := make([]byte, seal.KeySize)
	rand.Read(fresh)
	wrapped := kek.Seal(nil, fresh, []byte(keyRoot))
	clear(fresh)
	if _, err := pool.Exec(ctx, "INSERT INTO vault_meta (name, value) VALUES ('root', $1) ON CONFLICT (name) DO NOTHING", wrapped); err != nil {
		return nil, pgErr(err)
	}
	var stored []byte
	if err := pool.QueryRow(ctx, "SELECT value FROM vault_meta WHERE name = 'root'").Scan(&stored); err != nil {
		return nil, pgErr(err)
	}
	root, err := kek.Open(nil, stored, []byte(keyRoot))
	if err != nil {
		return nil, ErrWrongKey
	}
	return root, nil
}

// background starts the health pings (for Ready) and the sweep of expired records.
func (s *pgStore) background(opt PostgresOptions) {
	every := func(d, def time.Duration, fn func()) {
		if d <= 0 {
			d = def
		}
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-s.stop:
					return
				case <-t.C:
					fn()
				}
			}
		}()
	}
	every(opt.HealthInterval, time.Second, s.ping)
	every(opt.SweepInterval, time.Minute, func() { s.sweep(opt.AuditRetention) })
}

// maxPingTimeout bounds a ping, and so how long a node takes to notice that its database
// stopped answering; a shorter connect timeout bounds it further.
const maxPingTimeout = 2 * time.Second

// ping asks the database whether it answers, for Ready, on its own connection (see
// healthConn); an unanswered ping begins an outage (the node refuses every call that needs
// the database until a ping is answered again).
func (s *pgStore) ping() {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), probe{}, true), s.pingTimeout)
	defer cancel()
	if err := s.health.ping(ctx); err != nil {
		if s.out.begin(pgErr(err)) {
			s.pool.Reset() // the idle connections were cut: none is handed out again
			if s.log != nil {
				s.log.Warn("store: the database does not answer: refusing writes and detokenizations", "err", pgErr(err))
			}
		}
		return
	}
	if s.out.end() && s.log != nil {
		s.log.Info("store: the database answers again")
	}
}

// watchPool makes the connections to the database follow out: every socket (the pool's, and
// those of the audit log and the change feed, made with copies of cfg) is dialled through it,
// which lists the socket until it closes, so that an outage can cut it; while an outage is
// under way the pool makes and hands out none. A
// connection idle for more than a second is pinged before it is handed out (pgxpool's
// default), within pingTimeout.
func watchPool(cfg *pgxpool.Config, out *outage, pingTimeout time.Duration) {
	cfg.ConnConfig.DialFunc = out.dialer(cfg.ConnConfig.DialFunc)
	cfg.PingTimeout = pingTimeout
	cfg.BeforeConnect = func(ctx context.Context, _ *pgx.ConnConfig) error { return out.refuse(ctx) }
	cfg.PrepareConn = func(ctx context.Context, _ *pgx.Conn) (bool, error) { return true, out.refuse(ctx) }
}

// sweepBatch bounds the rows one sweep statement deletes.
const sweepBatch = 1000

// sweep deletes expired tokens (their claims go with them), lapsed short-lived fields, old rows
// of the change feed, expired idempotency records and, with a retention, old audit events. Reads already ignore the first
// two; this gives the space back.
func (s *pgStore) sweep(retention time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	for {
		tag, err := s.pool.Exec(ctx, "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE expires_at <= $1 LIMIT $2)", now, sweepBatch)
		if err != nil || tag.RowsAffected() < sweepBatch {
			break
		}
	}
	s.pool.Exec(ctx, "UPDATE tokens SET ephem = NULL, ephem_until = NULL WHERE ephem_until <= $1", now)
	s.pool.Exec(ctx, "DELETE FROM changes WHERE at < $1", now.Add(-changeKeep))
	s.pool.Exec(ctx, "DELETE FROM idempotency WHERE expires_at <= $1", now)
	if retention > 0 {
		s.pool.Exec(ctx, "DELETE FROM events WHERE created_at < $1", now.Add(-retention))
	}
}

// Ready is nil while the database answered the last ping.
func (s *pgStore) Ready() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.out.refused()
}

func (s *pgStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	s.cancel()
	s.done.Wait()
	s.health.close()
	s.audit.close()
	s.pool.Close()
	return nil
}

// maxTxAttempts bounds the retries of a transaction PostgreSQL aborted to break a deadlock or
// a serialization conflict.
const maxTxAttempts = 4

// tx runs fn in a transaction and commits it; fn's errors roll it back and are returned.
func (s *pgStore) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if retryable(err) && attempt < maxTxAttempts {
			continue
		}
		return pgErr(err)
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pgErr gives a database error the vault's meaning. The vault's own errors pass through; a
// database that cannot be reached, is shutting down or only reads is ErrUnavailable. Messages
// carry no stored value (the database holds only sealed ones anyway).
func pgErr(err error) error {
	if err == nil {
		return nil
	}
	for _, own := range []error{ErrNotFound, ErrConflict, ErrCorrupt, ErrWrongKey, ErrClosed, ErrInvalidInput, ErrUnavailable, ErrSchemaTooNew} {
		if errors.Is(err, own) {
			return err
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return ErrConflict
		case pe.Code == "22021" || pe.Code == "22P05": // not valid in the database's encoding
			return fmt.Errorf("%w: text the database cannot keep", ErrInvalidInput)
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "57P"), // shutting down, cannot connect now
			pe.Code == "53300",                // too many connections
			pe.Code == "25006":                // read-only transaction: a standby, mid-failover
			return fmt.Errorf("%w: database: %s (SQLSTATE %s)", ErrUnavailable, pe.Message, pe.Code)
		}
		return fmt.Errorf("store: database: %s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	// No answer from the database: connecting failed, the connection broke, or the caller's
	// context ended first.
	return fmt.Errorf("%w: database: %w", ErrUnavailable, err)
}
