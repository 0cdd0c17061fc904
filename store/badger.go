package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/journal"
	"github.com/sluice-edge/sluice/store/internal/seal"
)

// Record keys. One byte of prefix per family keeps scans cheap and the layout readable.
const (
	keyRoot        = "m/root"
	prefixToken    = "t/"              // sealed token record
	prefixEphem    = "e/"              // sealed short-lived token fields (cvc), own TTL
	prefixFinger   = "f/"              // type \x00 fingerprint \x00 SHA-256(containers) -> token id
	prefixIdem     = "i/"              // keyed hash of (scope, key) -> sealed idempotency record
	prefixApp      = "a/"              // application record (holds a key hash, no secret)
	prefixAppKey   = "k/"              // hex(key hash) -> application id
	prefixEvent    = journal.KeyPrefix // big-endian nanos + random -> audit event
	keyFlushMarker = "z/flush"         // written and dropped to make Badger flush its memtables
	maxTxnAttempts = 8
)

// Options configure Open. Zero values mean the defaults named on each field.
type Options struct {
	Dir       string
	MasterKey []byte       // 32 bytes
	Logger    *slog.Logger // badger's own messages go here at debug level; nil discards
	// InMemory runs Badger without files (tests of code that needs a Store, not of durability).
	InMemory bool
	// TokenCacheSize bounds the cache of sealed token records (entries); 0 means 10,000,
	// negative disables it.
	TokenCacheSize int
	// Sizes bound Badger's memory and files; zero fields take DefaultSizes' values.
	Sizes Sizes
	// DiskReserve is the free space (bytes) below which writes and audited reads fail with
	// ErrDiskLow; 0 means DefaultDiskReserve, negative turns the guard off.
	DiskReserve int64
	// AuditSyncInterval bounds how long an audit record waits for fsync after Audit returns
	// (group commit); 0 means DefaultAuditSyncInterval, negative syncs before Audit returns.
	AuditSyncInterval time.Duration
	// AuditRetention drops journal segments whose every record is older; 0 keeps them forever.
	AuditRetention time.Duration
	// GCInterval is how often value-log garbage collection and audit retention run; 0 means
	// DefaultGCInterval.
	GCInterval time.Duration
}

// Sizes are Badger's knobs that decide the vault's memory and the size of its files.
type Sizes struct {
	MemTableBytes     int64 // one memtable (and its write-ahead log: a file mapped at twice this)
	MemTables         int   // memtables kept in memory, the one being written included
	BlockCacheBytes   int64 // decrypted data blocks (encryption needs > 0)
	IndexCacheBytes   int64 // table indexes and bloom filters (encryption needs > 0)
	Compactors        int   // compaction goroutines (at least 2)
	ValueThreshold    int64 // values larger than this go to the value log
	ValueLogFileBytes int64 // one value-log file (mapped at twice this)
	AuditSegmentBytes int64 // one audit journal segment, allocated whole when it opens
}

// MinMemTableBytes is the smallest memtable a vault opens with: Badger commits a write batch
// of at most 15% of a memtable, and a smaller one (with base tables of a quarter of it, see
// badgerOptions) would split the vault into thousands of tiny table files.
const MinMemTableBytes = 1 << 20

// MinAuditSegmentBytes is the smallest audit journal segment: each one is a file, mapped and
// synced on its own, and a smaller one would make a file of every few events.
const MinAuditSegmentBytes = 1 << 20

// check refuses sizes the vault cannot work with.
func (z Sizes) check() error {
	if z.MemTableBytes > 0 && z.MemTableBytes < MinMemTableBytes {
		return fmt.Errorf("%w: memtables of %d bytes (storage.memtable_bytes): at least %d", ErrInvalidInput, z.MemTableBytes, MinMemTableBytes)
	}
	if z.AuditSegmentBytes > 0 && z.AuditSegmentBytes < MinAuditSegmentBytes {
		return fmt.Errorf("%w: audit journal segments of %d bytes (storage.audit_segment_bytes): at least %d", ErrInvalidInput, z.AuditSegmentBytes, MinAuditSegmentBytes)
	}
	return nil
}

// DefaultSizes is Badger sized for an edge: see RATIONALE.md, "Badger's memory".
func DefaultSizes() Sizes {
	return Sizes{
		MemTableBytes:     8 << 20,
		MemTables:         2,
		BlockCacheBytes:   16 << 20,
		IndexCacheBytes:   8 << 20,
		Compactors:        2,
		ValueThreshold:    1 << 20,
		ValueLogFileBytes: 64 << 20,
		AuditSegmentBytes: 64 << 20,
	}
}

// withDefaults fills zero fields from DefaultSizes.
func (z Sizes) withDefaults() Sizes {
	d := DefaultSizes()
	pick := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&z.MemTableBytes, d.MemTableBytes)
	pick(&z.BlockCacheBytes, d.BlockCacheBytes)
	pick(&z.IndexCacheBytes, d.IndexCacheBytes)
	pick(&z.ValueThreshold, d.ValueThreshold)
	pick(&z.ValueLogFileBytes, d.ValueLogFileBytes)
	pick(&z.AuditSegmentBytes, d.AuditSegmentBytes)
	if z.MemTables <= 0 {
		z.MemTables = d.MemTables
	}
	if z.Compactors <= 0 {
		z.Compactors = d.Compactors
	}
	return z
}

// Defaults of the background work.
const (
	DefaultAuditSyncInterval = 10 * time.Millisecond
	DefaultGCInterval        = 10 * time.Minute
)

// badgerOptions turns opt into Badger's options.
func badgerOptions(opt Options) badger.Options {
	z := opt.Sizes.withDefaults()
	// Badger refuses a value threshold above 15% of a memtable (its largest batch).
	threshold := min(z.ValueThreshold, z.MemTableBytes*15/100, 1<<20)
	bo := badger.DefaultOptions(opt.Dir).
		WithInMemory(opt.InMemory).
		WithEncryptionKey(seal.Derive(opt.MasterKey, "badger")).
		WithEncryptionKeyRotationDuration(30 * 24 * time.Hour).
		WithMemTableSize(z.MemTableBytes).
		// A flush makes one table no bigger than its memtable, and Badger's table builder
		// allocates and zeroes twice the base table size up front (4 MiB at its default of
		// 2 MiB): a small memtable gets base tables of a quarter of it.
		WithBaseTableSize(min(2<<20, z.MemTableBytes/4)).
		WithNumMemtables(z.MemTables).
		WithIndexCacheSize(z.IndexCacheBytes).
		WithBlockCacheSize(z.BlockCacheBytes).
		WithNumCompactors(max(2, z.Compactors)).
		// Badger's streams (only the backup's here) run this many readers, each with its own
		// 32 MiB buffer: its default of 8 made every backup allocate and zero 256 MiB.
		WithNumGoroutines(1).
		WithValueLogFileSize(z.ValueLogFileBytes).
		WithSyncWrites(false). // acknowledged writes call db.Sync themselves
		WithLogger(badgerLogger{opt.Logger}).
		WithNumVersionsToKeep(1).
		WithValueThreshold(threshold)
	if opt.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	return bo
}

// badgerStore is the Store on an embedded Badger database.
type badgerStore struct {
	*vaultKeys
	db      *badger.DB
	cache   *sealedCache
	journal auditLog   // nil in memory: Audit writes to Badger directly
	disk    *diskGuard // nil in memory or when the guard is off
	maint   *maintainer
	dead    atomic.Int64 // bytes of token records deleted since the last compaction by collect
	closed  atomic.Bool
}

var _ Store = (*badgerStore)(nil)

// Open opens (or creates) the vault in opt.Dir. A master key that does not match the directory's
// returns ErrWrongKey and changes nothing on disk. A file system with less free space than the
// reserve returns ErrDiskLow before Badger opens (its first write would fault).
func Open(opt Options) (Store, error) {
	if len(opt.MasterKey) != seal.KeySize {
		return nil, errors.New("store: master key must be 32 bytes")
	}
	if err := opt.Sizes.check(); err != nil {
		return nil, err
	}
	var guard *diskGuard
	if !opt.InMemory && opt.DiskReserve >= 0 {
		reserve := opt.DiskReserve
		if reserve == 0 {
			reserve = DefaultDiskReserve
		}
		// On a full disk Badger's first write at open would fault: refuse to start instead.
		guard = newDiskGuard(opt.Dir, uint64(reserve), opt.Logger)
		if err := guard.sample(); err != nil {
			return nil, fmt.Errorf("%w; free space or lower storage.reserve_bytes", err)
		}
	}
	bo := badgerOptions(opt)
	db, err := badger.Open(bo)
	if err != nil {
		if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
			return nil, ErrWrongKey
		}
		return nil, fmt.Errorf("store: open %s: %w", opt.Dir, err)
	}
	root, err := loadRoot(db, opt.MasterKey)
	if err != nil {
		db.Close()
		return nil, err
	}
	keys, err := newVaultKeys(root)
	if err != nil {
		db.Close()
		return nil, err
	}
	bs := &badgerStore{
		vaultKeys: keys,
		db:        db,
		cache:     newSealedCache(cacheSize(opt.TokenCacheSize)),
	}
	if !opt.InMemory {
		sync := opt.AuditSyncInterval
		if sync == 0 {
			sync = DefaultAuditSyncInterval
		}
		j, err := journal.Open(filepath.Join(opt.Dir, "audit"), keys.seal, max(sync, 0), opt.Sizes.withDefaults().AuditSegmentBytes)
		if err != nil {
			db.Close()
			return nil, journalErr(err)
		}
		bs.journal = j
	}
	if guard != nil {
		bs.disk = guard
		guard.watch(diskSampleEvery)
	}
	bs.maint = bs.maintain(opt)
	return bs, nil
}

// loadRoot returns the vault's root secret, creating it on first open. The root secret is random,
// wrapped by a key derived from the master key; every working key derives from it, so rotating the
// master key only re-wraps this one record. A rekey that was interrupted after Badger's key
// registry moved to the new key left the root wrapped by the new key in keyRootNext: it is
// promoted here.
func loadRoot(db *badger.DB, master []byte) ([]byte, error) {
	kek, err := rootKEK(master)
	if err != nil {
		return nil, err
	}
	var root []byte
	open := func(txn *badger.Txn, key string) ([]byte, error) {
		item, err := txn.Get([]byte(key))
		if err != nil {
			return nil, err
		}
		var out []byte
		err = item.Value(func(v []byte) error {
			var oerr error
			out, oerr = kek.Open(nil, v, []byte(keyRoot))
			return oerr
		})
		return out, err
	}
	err = db.Update(func(txn *badger.Txn) error {
		r, err := open(txn, keyRoot)
		switch {
		case err == nil:
			root = r
			return nil
		case errors.Is(err, badger.ErrKeyNotFound):
			root = make([]byte, seal.KeySize)
			rand.Read(root)
			return txn.Set([]byte(keyRoot), kek.Seal(nil, root, []byte(keyRoot)))
		case !errors.Is(err, seal.ErrOpen):
			return err
		}
		r, nerr := open(txn, keyRootNext)
		if nerr != nil {
			return ErrWrongKey
		}
		root = r
		if err := txn.Set([]byte(keyRoot), kek.Seal(nil, root, []byte(keyRoot))); err != nil {
			return err
		}
		return txn.Delete([]byte(keyRootNext))
	})
	if err != nil {
		if errors.Is(err, ErrWrongKey) {
			return nil, ErrWrongKey
		}
		return nil, fmt.Errorf("store: root key: %w", err)
	}
	return root, db.Sync()
}

func cacheSize(n int) int {
	if n == 0 {
		return 10000
	}
	return n
}

func (s *badgerStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.maint.close()
	if s.disk != nil {
		s.disk.close()
	}
	var jerr error
	if s.journal != nil {
		jerr = journalErr(s.journal.Close())
	}
	if err := s.db.Close(); err != nil {
		return err
	}
	return jerr
}

// Ready is nil while the vault takes writes and audited reads, else the reason it does not.
func (s *badgerStore) Ready() error {
	if s.disk == nil {
		return nil
	}
	return s.disk.admit()
}

// update runs fn in a read-write transaction, retrying on Badger's optimistic-concurrency
// conflicts, and syncs to disk before returning so that an acknowledged write survives a crash.
func (s *badgerStore) update(fn func(txn *badger.Txn) error) error {
	if s.disk != nil {
		// Writes sync anyway: a statfs now (about a microsecond) is cheap beside it.
		if err := s.disk.sample(); err != nil {
			return err
		}
	}
	if err := s.write(fn); err != nil {
		return err
	}
	return mapErr(s.db.Sync())
}

// write is update without the fsync: the commit is in Badger's write-ahead log (a memory-mapped
// file), which survives a crash of the process but not of the machine.
func (s *badgerStore) write(fn func(txn *badger.Txn) error) error {
	blockedUntil := time.Time{}
	for attempt := 0; ; attempt++ {
		err := s.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && attempt < maxTxnAttempts {
			continue
		}
		// Writes are held while collect flushes the memtables (a fraction of a second).
		if errors.Is(err, badger.ErrBlockedWrites) {
			if blockedUntil.IsZero() {
				blockedUntil = time.Now().Add(maxBlockedWait)
			}
			if time.Now().Before(blockedUntil) {
				time.Sleep(time.Millisecond)
				continue
			}
		}
		return mapErr(err)
	}
}

// maxBlockedWait bounds how long a write waits for writes to be let through again.
const maxBlockedWait = 10 * time.Second

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	case noSpace(err):
		return fmt.Errorf("%w: %w", ErrDiskLow, err)
	}
	return err
}

// ---- audit ----

// auditLog is where Audit writes when the vault is on disk: the journal (store/internal/journal).
type auditLog interface {
	AppendValid(evs []Event) error // evs checked by checkEvents
	Iter(start string) *journal.Iter
	DropBefore(cutoff time.Time) error
	Close() error
}

// journalErr gives a journal's error the vault's meaning: a full file system is ErrDiskLow, a
// record that fails authentication ErrCorrupt.
func journalErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, journal.ErrNoSpace):
		return fmt.Errorf("%w: audit %w", ErrDiskLow, err)
	case errors.Is(err, journal.ErrCorrupt):
		return fmt.Errorf("%w: audit %w", ErrCorrupt, err)
	}
	return fmt.Errorf("store: audit %w", err)
}

func newEventKey(t time.Time) []byte {
	return journal.AppendKey(make([]byte, 0, journal.KeyLen), t)
}

func putEvents(txn *badger.Txn, evs ...Event) error {
	for i := range evs {
		ev := &evs[i]
		if ev.CreatedAt.IsZero() {
			ev.CreatedAt = time.Now().UTC()
		}
		k := newEventKey(ev.CreatedAt)
		ev.ID = journal.ID(k)
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := txn.Set(k, b); err != nil {
			return err
		}
	}
	return nil
}

// Audit writes events on their own (token uses by the proxy and reveals) to the journal, which
// syncs them within the configured interval (see Store.Audit). In memory, to Badger directly.
func (s *badgerStore) Audit(ctx context.Context, evs ...Event) error {
	if err := checkEvents(evs); err != nil {
		return err
	}
	if s.disk != nil {
		if err := s.disk.admit(); err != nil {
			return err
		}
	}
	if s.journal != nil {
		return journalErr(s.journal.AppendValid(evs)) // checkEvents checked every string
	}
	return s.write(func(txn *badger.Txn) error { return putEvents(txn, evs...) })
}

func (s *badgerStore) Events(ctx context.Context, q EventQuery) ([]Event, string, error) {
	if q.Size <= 0 {
		q.Size = 20
	}
	if q.Size > 100 {
		q.Size = 100
	}
	seek := []byte(prefixEvent + "\xff")
	if q.Start != "" {
		c, err := hex.DecodeString(q.Start)
		if err != nil || len(c) != 16 {
			return nil, "", fmt.Errorf("%w: start is not a cursor from this API", ErrInvalidInput)
		}
		seek = append([]byte(prefixEvent), c...)
	}
	// Two sources, each newest first, merged: events Badger holds (written with their mutation)
	// and the journal's.
	var jit *journal.Iter
	if s.journal != nil {
		jit = s.journal.Iter(q.Start)
	}
	var out []Event
	next := ""
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte(prefixEvent), PrefetchValues: true, PrefetchSize: 32})
		defer it.Close()
		it.Seek(seek)
		db := badgerEvents{it: it, start: q.Start}
		// Each source is read one event ahead, only when the merge needs it: a page that is
		// full before a source fails (a corrupt journal segment further back) is still
		// returned, with a cursor; the next page reports the failure.
		var a, b Event
		var okA, okB, haveA, haveB bool
		for {
			var err error
			if !haveA {
				a, okA, err = db.next()
				haveA = err == nil
			}
			if err == nil && jit != nil && !haveB {
				b, okB, err = jit.Next()
				haveB = err == nil
				err = journalErr(err)
			}
			if err != nil {
				if len(out) == q.Size {
					next = out[len(out)-1].ID
					return nil
				}
				return err
			}
			if !okA && !okB {
				return nil
			}
			var ev Event
			if okA && (!okB || a.ID > b.ID) {
				ev, haveA = a, false
			} else {
				ev, haveB = b, false
			}
			if !q.matches(&ev) {
				// Newest first by id, whose time part is never before the event's created_at:
				// once it is before Since, everything further is older still.
				if !q.Since.IsZero() && journal.Nanos(ev.ID) < q.Since.UnixNano() {
					return nil
				}
				continue
			}
			if len(out) == q.Size {
				next = out[len(out)-1].ID
				return nil
			}
			out = append(out, ev)
		}
	})
	return out, next, err
}

// badgerEvents reads the events Badger holds, newest first, below a cursor: one per entry.
type badgerEvents struct {
	it    *badger.Iterator
	start string
}

func (b *badgerEvents) next() (Event, bool, error) {
	for ; b.it.Valid(); b.it.Next() {
		var ev Event
		if err := b.it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
			return Event{}, false, err
		}
		if b.start == "" || ev.ID < b.start {
			b.it.Next()
			return ev, true, nil
		}
	}
	return Event{}, false, nil
}

func (q *EventQuery) matches(e *Event) bool {
	return (q.EntityType == "" || q.EntityType == e.EntityType) &&
		(q.EntityID == "" || q.EntityID == e.EntityID) &&
		(q.Operation == "" || q.Operation == e.Operation) &&
		(q.Actor == "" || q.Actor == e.Actor) &&
		(q.Since.IsZero() || !e.CreatedAt.Before(q.Since)) &&
		(q.Until.IsZero() || !e.CreatedAt.After(q.Until))
}

// ---- applications ----

func (s *badgerStore) CreateApplication(ctx context.Context, a *Application, ev Event) error {
	if err := checkWrite(a.ID, &ev); err != nil {
		return err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(prefixApp + a.ID)); err == nil {
			return ErrConflict
		}
		if err := txn.Set([]byte(prefixApp+a.ID), b); err != nil {
			return err
		}
		if len(a.KeyHash) > 0 {
			if _, err := txn.Get(appKeyIndex(a.KeyHash)); err == nil {
				return ErrConflict
			}
			if err := txn.Set(appKeyIndex(a.KeyHash), []byte(a.ID)); err != nil {
				return err
			}
		}
		return putEvents(txn, ev)
	})
}

func getJSON(txn *badger.Txn, key string, v any) error {
	item, err := txn.Get([]byte(key))
	if err != nil {
		return mapErr(err)
	}
	return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

func (s *badgerStore) GetApplication(ctx context.Context, id string) (*Application, error) {
	var a Application
	err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, prefixApp+id, &a) })
	if err != nil {
		return nil, mapErr(err)
	}
	return &a, nil
}

func (s *badgerStore) ListApplications(ctx context.Context) ([]*Application, error) {
	var out []*Application
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixApp), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var a Application
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return err
			}
			out = append(out, &a)
		}
		return nil
	})
	return out, err
}

func (s *badgerStore) UpdateApplication(ctx context.Context, a *Application, ev Event) error {
	if err := checkWrite(a.ID, &ev); err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		var old Application
		if err := getJSON(txn, prefixApp+a.ID, &old); err != nil {
			return err
		}
		rec := keepDeletedFirstKey(&old, a)
		if err := moveFirstKey(txn, &old, rec); err != nil {
			return err
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := txn.Set([]byte(prefixApp+a.ID), b); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

func (s *badgerStore) DeleteApplication(ctx context.Context, id string, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		var old Application
		if err := getJSON(txn, prefixApp+id, &old); err != nil {
			return err
		}
		if err := moveFirstKey(txn, &old, &Application{ID: id}); err != nil {
			return err
		}
		others, err := otherKeys(txn, id)
		if err != nil {
			return err
		}
		for _, k := range others {
			if err := deleteAppKeyRec(txn, k); err != nil {
				return err
			}
		}
		if err := txn.Delete([]byte(prefixApp + id)); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

// ---- documents ----

func docKey(c Collection, id string) []byte { return []byte(c.Prefix + "/" + id) }

func (s *badgerStore) Put(ctx context.Context, c Collection, id string, doc []byte, create bool, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	k := docKey(c, id)
	v := s.sealDoc(c, id, doc)
	return s.update(func(txn *badger.Txn) error {
		_, err := txn.Get(k)
		switch {
		case create && err == nil:
			return ErrConflict
		case !create && errors.Is(err, badger.ErrKeyNotFound):
			return ErrNotFound
		case err != nil && !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		if err := txn.Set(k, v); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

func (s *badgerStore) Get(ctx context.Context, c Collection, id string) ([]byte, error) {
	var out []byte
	k := docKey(c, id)
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) (err error) {
			out, err = s.openDoc(c, k, v)
			return err
		})
	})
	return out, mapErr(err)
}

func (s *badgerStore) List(ctx context.Context, c Collection) ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(c.Prefix + "/"), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			err := item.Value(func(v []byte) error {
				d, err := s.openDoc(c, item.Key(), v)
				out = append(out, d)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (s *badgerStore) Delete(ctx context.Context, c Collection, id string, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	k := docKey(c, id)
	return s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get(k); err != nil {
			return err
		}
		if err := txn.Delete(k); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

// badgerLogger sends Badger's chatter to slog at debug level (and warnings/errors as such).
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) log(level slog.Level, f string, args ...any) {
	if b.l != nil {
		b.l.Log(context.Background(), level, "badger: "+strings.TrimSpace(fmt.Sprintf(f, args...)))
	}
}
func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a...) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a...) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(slog.LevelDebug, f, a...) }
