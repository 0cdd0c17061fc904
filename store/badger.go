package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// Record keys. One byte of prefix per family keeps scans cheap and the layout readable.
const (
	keyRoot        = "m/root"
	prefixToken    = "t/" // sealed token record
	prefixEphem    = "e/" // sealed short-lived token fields (cvc), own TTL
	prefixFinger   = "f/" // type \x00 fingerprint \x00 SHA-256(containers) -> token id
	prefixApp      = "a/" // application record (holds a key hash, no secret)
	prefixAppKey   = "k/" // hex(key hash) -> application id
	prefixEvent    = "l/" // big-endian nanos + random -> audit event
	maxTxnAttempts = 8
)

// Options configure Open.
type Options struct {
	Dir       string
	MasterKey []byte       // 32 bytes
	Logger    *slog.Logger // badger's own messages go here at debug level; nil discards
	// InMemory runs Badger without files (tests of code that needs a Store, not of durability).
	InMemory bool
	// TokenCacheSize bounds the cache of sealed token records (entries); 0 means 10,000,
	// negative disables it.
	TokenCacheSize int
}

// badgerStore is the Store on an embedded Badger database.
type badgerStore struct {
	db        *badger.DB
	seal      *seal.Sealer
	fingerKey []byte
	apiKeyKey []byte
	cache     *sealedCache
	journal   *journal // nil in memory: Audit writes to Badger directly
}

var _ Store = (*badgerStore)(nil)

// Open opens (or creates) the vault in opt.Dir. A master key that does not match the directory's
// returns ErrWrongKey and changes nothing on disk.
func Open(opt Options) (Store, error) {
	if len(opt.MasterKey) != seal.KeySize {
		return nil, errors.New("store: master key must be 32 bytes")
	}
	bo := badger.DefaultOptions(opt.Dir).
		WithInMemory(opt.InMemory).
		WithEncryptionKey(seal.Derive(opt.MasterKey, "badger")).
		WithEncryptionKeyRotationDuration(30 * 24 * time.Hour).
		WithIndexCacheSize(16 << 20). // required with encryption
		WithBlockCacheSize(32 << 20).
		WithSyncWrites(false). // acknowledged writes call db.Sync themselves
		WithLogger(badgerLogger{opt.Logger}).
		WithNumVersionsToKeep(1).
		WithValueThreshold(1 << 20)
	if opt.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
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
	s, err := seal.New(seal.Derive(root, "envelope"))
	if err != nil {
		db.Close()
		return nil, err
	}
	bs := &badgerStore{
		db:        db,
		seal:      s,
		fingerKey: seal.Derive(root, "fingerprint"),
		apiKeyKey: seal.Derive(root, "api key"),
		cache:     newSealedCache(cacheSize(opt.TokenCacheSize)),
	}
	if !opt.InMemory {
		if bs.journal, err = openJournal(filepath.Join(opt.Dir, "audit"), s); err != nil {
			db.Close()
			return nil, err
		}
	}
	return bs, nil
}

// loadRoot returns the vault's root secret, creating it on first open. The root secret is random,
// wrapped by a key derived from the master key; every working key derives from it, so rotating the
// master key only re-wraps this one record. A rekey that was interrupted after Badger's key
// registry moved to the new key left the root wrapped by the new key in keyRootNext: it is
// promoted here.
func loadRoot(db *badger.DB, master []byte) ([]byte, error) {
	kek, err := seal.New(seal.Derive(master, "key encryption"))
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
	var jerr error
	if s.journal != nil {
		jerr = s.journal.close()
	}
	if err := s.db.Close(); err != nil {
		return err
	}
	return jerr
}

func (s *badgerStore) Fingerprint(tokenType string, value []byte) string {
	m := hmac.New(sha256.New, s.fingerKey)
	m.Write([]byte(tokenType))
	m.Write([]byte{0})
	m.Write(value)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

func (s *badgerStore) HashKey(key string) []byte {
	m := hmac.New(sha256.New, s.apiKeyKey)
	m.Write([]byte(key))
	return m.Sum(nil)
}

// update runs fn in a read-write transaction, retrying on Badger's optimistic-concurrency
// conflicts, and syncs to disk before returning so that an acknowledged write survives a crash.
func (s *badgerStore) update(fn func(txn *badger.Txn) error) error {
	if err := s.write(fn); err != nil {
		return err
	}
	return mapErr(s.db.Sync())
}

// write is update without the fsync: the commit is in Badger's write-ahead log (a memory-mapped
// file), which survives a crash of the process but not of the machine.
func (s *badgerStore) write(fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		err := s.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && attempt < maxTxnAttempts {
			continue
		}
		return mapErr(err)
	}
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	}
	return err
}

// ---- audit ----

func newEventKey(t time.Time) []byte {
	return appendEventKey(make([]byte, 0, eventKeyLen), t)
}

// appendEventKey appends the key of an event at t: the time, then random bits so that events of
// the same nanosecond (from the journal and from mutations) never collide. They need not be
// secret: math/rand/v2's generator, seeded from crypto/rand, costs nanoseconds.
func appendEventKey(k []byte, t time.Time) []byte {
	k = append(k, prefixEvent...)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(k, mrand.Uint64())
}

// eventID is the public id of the event stored under k.
func eventID(k []byte) string { return hex.EncodeToString(k[len(prefixEvent):]) }

func putEvents(txn *badger.Txn, evs ...Event) error {
	for i := range evs {
		ev := &evs[i]
		if ev.CreatedAt.IsZero() {
			ev.CreatedAt = time.Now().UTC()
		}
		k := newEventKey(ev.CreatedAt)
		ev.ID = eventID(k)
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

// Audit writes events on their own (token uses by the proxy and reveals). Unlike the other
// writes it is not fsynced: the record is in the write-ahead log before the caller proceeds,
// which survives a crash of the process; see RATIONALE.md.
func (s *badgerStore) Audit(ctx context.Context, evs ...Event) error {
	if s.journal != nil {
		return s.journal.append(evs)
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
	// Two sources, each newest first, merged: events Badger holds (written with their mutation,
	// or moved there by an older version of the journal) and the journal's.
	var jit *journalIter
	if s.journal != nil {
		var err error
		if jit, err = s.journal.iter(q.Start); err != nil {
			return nil, "", err
		}
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
				b, okB, err = jit.next()
				haveB = err == nil
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
			if okA && (!okB || a.ID >= b.ID) {
				ev, haveA = a, false
				if okB && a.ID == b.ID { // in both (an older version's ingest): once
					haveB = false
				}
			} else {
				ev, haveB = b, false
			}
			if !q.matches(&ev) {
				// Newest first by id, whose time part is never before the event's created_at:
				// once it is before Since, everything further is older still.
				if !q.Since.IsZero() && keyNanos(ev.ID) < q.Since.UnixNano() {
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

// badgerEvents reads the events Badger holds, newest first, below a cursor.
type badgerEvents struct {
	it    *badger.Iterator
	start string
	group []Event // the rest of the current entry, in key order; consumed from the end
}

func (b *badgerEvents) next() (Event, bool, error) {
	for {
		for len(b.group) > 0 {
			ev := b.group[len(b.group)-1]
			b.group = b.group[:len(b.group)-1]
			if b.start == "" || ev.ID < b.start {
				return ev, true, nil
			}
		}
		if !b.it.Valid() {
			return Event{}, false, nil
		}
		// An entry holds one event (written with its mutation) or, moved there from an older
		// version of the audit journal, the events of one request as a JSON array in key order.
		err := b.it.Item().Value(func(v []byte) error {
			if len(v) > 0 && v[0] == '[' {
				return json.Unmarshal(v, &b.group)
			}
			var ev Event
			err := json.Unmarshal(v, &ev)
			b.group = append(b.group[:0], ev)
			return err
		})
		b.it.Next()
		if err != nil {
			return Event{}, false, err
		}
	}
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
		if err := txn.Set([]byte(prefixAppKey+hex.EncodeToString(a.KeyHash)), []byte(a.ID)); err != nil {
			return err
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

func (s *badgerStore) ApplicationByKey(ctx context.Context, key string) (*Application, error) {
	h := s.HashKey(key)
	var a Application
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(prefixAppKey + hex.EncodeToString(h)))
		if err != nil {
			return err
		}
		id, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		return getJSON(txn, prefixApp+string(id), &a)
	})
	if err != nil {
		return nil, mapErr(err)
	}
	if subtle.ConstantTimeCompare(a.KeyHash, h) != 1 {
		return nil, ErrNotFound
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
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		var old Application
		if err := getJSON(txn, prefixApp+a.ID, &old); err != nil {
			return err
		}
		if !bytes.Equal(old.KeyHash, a.KeyHash) {
			if err := txn.Delete([]byte(prefixAppKey + hex.EncodeToString(old.KeyHash))); err != nil {
				return err
			}
			if err := txn.Set([]byte(prefixAppKey+hex.EncodeToString(a.KeyHash)), []byte(a.ID)); err != nil {
				return err
			}
		}
		if err := txn.Set([]byte(prefixApp+a.ID), b); err != nil {
			return err
		}
		return putEvents(txn, ev)
	})
}

func (s *badgerStore) DeleteApplication(ctx context.Context, id string, ev Event) error {
	return s.update(func(txn *badger.Txn) error {
		var old Application
		if err := getJSON(txn, prefixApp+id, &old); err != nil {
			return err
		}
		if err := txn.Delete([]byte(prefixAppKey + hex.EncodeToString(old.KeyHash))); err != nil {
			return err
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
	k := docKey(c, id)
	v := doc
	if c.Sealed {
		v = s.seal.Seal(nil, doc, k)
	}
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

func (s *badgerStore) openDoc(c Collection, k, v []byte) ([]byte, error) {
	if !c.Sealed {
		return bytes.Clone(v), nil
	}
	out, err := s.seal.Open(nil, v, k)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
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
