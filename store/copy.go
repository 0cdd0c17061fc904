package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrOtherVault: the database already holds a vault with another root secret. Its keyed hashes
// (API keys, fingerprints, search indexes) could not match the copied records.
var ErrOtherVault = errors.New("store: the database holds another vault (another root secret): copy into an empty database, or into the one this vault was copied to before")

// CopyOptions tune CopyToPostgres. Zero values mean the defaults named on each field.
type CopyOptions struct {
	Batch int // records per transaction; 0 means 1000 (audit events: five times as many)
	// Progress, if set, is called after each committed transaction with the kind of record
	// and how many of that kind were copied so far.
	Progress func(kind string, done int)
}

// CopyCount is what CopyToPostgres did with one kind of record.
type CopyCount struct {
	Kind    string
	Found   int // in the Badger vault (live ones), each verified present and equal in the database
	Written int // inserted or changed in the database (0 when it already held them all)
}

// copyKinds are the kinds of record, in the order they are copied (tokens before the dedupe
// claims that name them, applications before their keys).
var copyKinds = []string{"tokens", "dedupe claims", "applications", "application keys", "proxies", "keys",
	"transforms", "reactors", "idempotency records", "audit events"}

// copyPrefixes are the Badger key families the copy knows: the records it copies, and the ones
// it leaves because PostgreSQL derives them (the API key index, the token postings) or does
// not need them. A vault with any other family is refused rather than copied in part.
var copyPrefixes = map[string]bool{
	prefixToken: true, prefixEphem: true, prefixFinger: true, prefixIdem: true, prefixApp: true, prefixAppKey: true,
	prefixAppKeyRec: true, prefixEvent: true, prefixPosting: true, "m/": true, "z/": true,
	Proxies.Prefix + "/": true, Keys.Prefix + "/": true, Transforms.Prefix + "/": true, Reactors.Prefix + "/": true,
}

// CopyToPostgres copies the Badger vault in dir, opened with master, into the PostgreSQL
// database at url: every live token (its sealed records as they are, its dedupe claim and its
// index terms), application, application key, document, idempotency record and audit event.
// Sealed values are copied sealed; the database gets the vault's root secret (wrapped by
// master), so every keyed hash stays valid. ErrOtherVault if the database has another root.
//
// Each batch is one transaction that also counts the batch's records in the database, so an
// interruption loses nothing and a second run finishes the first: records already there and
// equal are not written again (Written counts the others). Records only the database holds
// stay. ErrInUse while an edge runs on dir (stop it, or copy a restored backup).
func CopyToPostgres(ctx context.Context, dir string, master []byte, url string, opt CopyOptions) ([]CopyCount, error) {
	st, err := openIdle(dir, master)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	src := st.(*badgerStore)
	if err := src.knownFamilies(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("store: the database URL does not parse (postgres://user:password@host:port/database?sslmode=…)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, pgErr(err)
	}
	defer pool.Close()
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	if err := src.copyRoot(ctx, pool, master); err != nil {
		return nil, err
	}
	c := &copier{src: src, pool: pool, opt: opt, counts: map[string]*CopyCount{}}
	if c.opt.Batch <= 0 {
		c.opt.Batch = 1000
	}
	steps := []func(context.Context) error{c.tokens, c.claims, c.applications, c.appKeys, c.documents, c.idempotency, c.events}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return c.result(), err
		}
	}
	if err := c.announce(ctx); err != nil {
		return c.result(), err
	}
	return c.result(), nil
}

// knownFamilies refuses a vault holding a key family the copy does not know.
func (s *badgerStore) knownFamilies() error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			k := it.Item().Key()
			fam := string(k[:min(len(k), 2)])
			if !copyPrefixes[fam] {
				return fmt.Errorf("store: copy: the vault holds records (%q…) this version cannot copy", fam)
			}
			it.Seek(append([]byte(fam[:1]), fam[1]+1)) // the next family
		}
		return nil
	})
}

// copyRoot gives the database this vault's root secret, wrapped by master, unless it has
// one; then it must be the same.
func (s *badgerStore) copyRoot(ctx context.Context, pool *pgxpool.Pool, master []byte) error {
	kek, err := rootKEK(master)
	if err != nil {
		return err
	}
	var wrapped []byte
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyRoot))
		if err != nil {
			return err
		}
		wrapped, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: root key: %w", err)
	}
	root, err := kek.Open(nil, wrapped, []byte(keyRoot))
	if err != nil {
		return ErrWrongKey
	}
	defer clear(root)
	if _, err := pool.Exec(ctx, "INSERT INTO vault_meta (name, value) VALUES ('root', $1) ON CONFLICT (name) DO NOTHING", wrapped); err != nil {
		return pgErr(err)
	}
	var theirs []byte
	if err := pool.QueryRow(ctx, "SELECT value FROM vault_meta WHERE name = 'root'").Scan(&theirs); err != nil {
		return pgErr(err)
	}
	other, err := kek.Open(nil, theirs, []byte(keyRoot))
	if err != nil {
		return fmt.Errorf("%w (the master key does not open the database's)", ErrOtherVault)
	}
	defer clear(other)
	if !bytes.Equal(root, other) {
		return ErrOtherVault
	}
	return nil
}

// copier copies one vault's records, batch by batch.
type copier struct {
	src  *badgerStore
	pool *pgxpool.Pool
	opt  CopyOptions

	mu      sync.Mutex // guards the counts (workers commit batches concurrently)
	counts  map[string]*CopyCount
	written int // over all kinds
}

// copyWorkers is how many batches of one kind are committed at once, on their own
// connections, while the vault is read further: PostgreSQL works on several cores.
const copyWorkers = 3

// workers commit batches concurrently; the first failure stops them all.
type workers struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}
	mu     sync.Mutex
	err    error
}

func newWorkers(ctx context.Context) *workers {
	ctx, cancel := context.WithCancel(ctx)
	return &workers{ctx: ctx, cancel: cancel, slots: make(chan struct{}, copyWorkers)}
}

func (w *workers) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *workers) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cancel()
}

// do runs fn on a free worker, waiting for one; it returns the first failure so far, for the
// caller to stop reading.
func (w *workers) do(fn func(context.Context) error) error {
	select {
	case w.slots <- struct{}{}:
	case <-w.ctx.Done():
		w.fail(w.ctx.Err())
		return w.failed()
	}
	if err := w.failed(); err != nil {
		<-w.slots
		return err
	}
	w.wg.Add(1)
	go func() {
		defer func() { <-w.slots; w.wg.Done() }()
		if err := fn(w.ctx); err != nil {
			w.fail(err)
		}
	}()
	return nil
}

// wait waits for the batches under way and returns the first failure: of a batch, or err
// (the reading's) when none failed.
func (w *workers) wait(err error) error {
	w.wg.Wait()
	w.cancel()
	if ferr := w.failed(); ferr != nil {
		return ferr
	}
	return err
}

func (c *copier) result() []CopyCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []CopyCount
	for _, k := range copyKinds {
		if n := c.counts[k]; n != nil {
			out = append(out, *n)
		} else {
			out = append(out, CopyCount{Kind: k})
		}
	}
	return out
}

// statement is one SQL statement of a batch with its arguments.
type statement struct {
	sql  string
	args []any
}

// commit runs one batch of n records of kind in a transaction: write (returning how many rows
// it wrote), then the statements after it, then verify (returning how many of the batch's
// records the database now holds, equal to the vault's). Anything short of n fails the copy.
func (c *copier) commit(ctx context.Context, kind string, n int, write statement, after []statement, verify statement) error {
	if n == 0 {
		return nil
	}
	var wrote, found int
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(write.sql, write.args...)
		for _, s := range after {
			b.Queue(s.sql, s.args...)
		}
		b.Queue(verify.sql, verify.args...)
		res := tx.SendBatch(ctx, b)
		defer res.Close()
		if err := res.QueryRow().Scan(&wrote); err != nil {
			return err
		}
		for range after {
			if _, err := res.Exec(); err != nil {
				return err
			}
		}
		if err := res.QueryRow().Scan(&found); err != nil {
			return err
		}
		return res.Close()
	})
	if err != nil {
		return fmt.Errorf("store: copy: %s: %w", kind, pgErr(err))
	}
	if found != n {
		return fmt.Errorf("store: copy: %s: the database holds %d of the %d just copied", kind, found, n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cnt := c.counts[kind]
	if cnt == nil {
		cnt = &CopyCount{Kind: kind}
		c.counts[kind] = cnt
	}
	cnt.Found += n
	cnt.Written += wrote
	c.written += wrote
	if c.opt.Progress != nil {
		c.opt.Progress(kind, cnt.Found)
	}
	return nil
}

// each calls fn for every entry under prefix, in key order, inside one read transaction (a
// consistent view), with a copy of its value.
func (c *copier) each(prefix string, fn func(txn *badger.Txn, item *badger.Item, v []byte) error) error {
	return c.src.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(txn, it.Item(), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- tokens ----

// copyTokensSQL inserts tokens or changes those that differ, and drops the index terms of the
// changed ones (the terms statement after it writes them again).
const copyTokensSQL = `WITH src AS (
		SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::timestamptz[], $5::timestamptz[], $6::bytea[], $7::bytea[], $8::timestamptz[])
		AS s(id, sealed, ephem, ephem_until, expires_at, claim_key, type_tag, created_at)),
	up AS (
		INSERT INTO tokens (id, sealed, ephem, ephem_until, expires_at, claim_key, type_tag, created_at) SELECT * FROM src
		ON CONFLICT (id) DO UPDATE SET sealed = EXCLUDED.sealed, ephem = EXCLUDED.ephem, ephem_until = EXCLUDED.ephem_until,
			expires_at = EXCLUDED.expires_at, claim_key = EXCLUDED.claim_key, type_tag = EXCLUDED.type_tag, created_at = EXCLUDED.created_at
		WHERE (tokens.sealed, tokens.ephem, tokens.ephem_until, tokens.expires_at, tokens.claim_key, tokens.type_tag, tokens.created_at)
			IS DISTINCT FROM (EXCLUDED.sealed, EXCLUDED.ephem, EXCLUDED.ephem_until, EXCLUDED.expires_at, EXCLUDED.claim_key, EXCLUDED.type_tag, EXCLUDED.created_at)
		RETURNING id, xmax <> 0 AS changed),
	stale AS (DELETE FROM token_terms WHERE token_id IN (SELECT id FROM up WHERE changed))
	SELECT count(*) FROM up`

// copyTermsSQL writes the index terms of tokens that exist, holding each token's row (as a
// foreign key would) so that a concurrent delete's trigger sees, and drops, what this wrote.
const copyTermsSQL = `INSERT INTO token_terms (tag, pos, token_id)
	SELECT s.tag, s.pos, s.id FROM unnest($1::bytea[], $2::bytea[], $3::text[]) AS s(tag, pos, id)
	JOIN tokens t ON t.id = s.id FOR KEY SHARE OF t
	ON CONFLICT DO NOTHING`

// copyClaimsSQL writes the dedupe claims of tokens that exist, holding each token's row as
// copyTermsSQL does.
const copyClaimsSQL = `WITH up AS (INSERT INTO token_claims (key, token_id)
	SELECT s.key, s.token_id FROM unnest($1::bytea[], $2::text[]) AS s(key, token_id)
	JOIN tokens t ON t.id = s.token_id FOR KEY SHARE OF t
	ON CONFLICT (key) DO UPDATE SET token_id = EXCLUDED.token_id WHERE token_claims.token_id <> EXCLUDED.token_id
	RETURNING 1) SELECT count(*) FROM up`

const verifyTokensSQL = `SELECT count(*) FROM tokens t JOIN unnest($1::text[], $2::bytea[]) AS s(id, sealed) ON t.id = s.id AND t.sealed = s.sealed`

// tokenRows are a batch of tokens as their rows and index terms.
type tokenRows struct {
	ids                          []string
	sealed, ephem, claims, types [][]byte
	ephemTill, expires           []*time.Time
	created                      []time.Time
	termTag, termPos             [][]byte
	termID                       []string
}

func (r *tokenRows) add(k *vaultKeys, id string, t *Token, sealed, ephem []byte, ephemTill *time.Time) {
	r.ids = append(r.ids, id)
	r.sealed = append(r.sealed, sealed)
	r.ephem = append(r.ephem, ephem)
	r.ephemTill = append(r.ephemTill, ephemTill)
	r.expires = append(r.expires, t.ExpiresAt)
	r.claims = append(r.claims, claimKey(t))
	r.types = append(r.types, k.tag("type", t.Type))
	r.created = append(r.created, t.CreatedAt)
	pos := tokenPos(t)
	for _, term := range k.tokenTerms(t) {
		term = bytes.Clone(term) // a search tag is a view into the record's plaintext, cleared next
		r.termTag, r.termPos, r.termID = append(r.termTag, term), append(r.termPos, pos), append(r.termID, id)
	}
}

func (c *copier) flushTokens(ctx context.Context, r *tokenRows) error {
	err := c.commit(ctx, "tokens", len(r.ids),
		statement{copyTokensSQL, []any{r.ids, r.sealed, r.ephem, r.ephemTill, r.expires, r.claims, r.types, r.created}},
		[]statement{{copyTermsSQL, []any{r.termTag, r.termPos, r.termID}}},
		statement{verifyTokensSQL, []any{r.ids, r.sealed}})
	*r = tokenRows{}
	return err
}

// tokens copies every live token: its sealed record and short-lived fields as they are, and
// the columns and terms PostgreSQL derives from the record (opened in memory only).
func (c *copier) tokens(ctx context.Context) error {
	var rows tokenRows
	wk := newWorkers(ctx)
	flush := func() error {
		batch := rows
		rows = tokenRows{}
		return wk.do(func(ctx context.Context) error { return c.flushTokens(ctx, &batch) })
	}
	now := time.Now()
	err := c.each(prefixToken, func(txn *badger.Txn, item *badger.Item, sealed []byte) error {
		id := string(item.Key()[len(prefixToken):])
		pt, err := c.src.seal.Open(nil, sealed, tokenKey(id))
		if err != nil {
			return fmt.Errorf("store: copy: token %s: %w", id, ErrCorrupt)
		}
		defer clear(pt)
		t, err := decodeToken(pt)
		if err != nil {
			return fmt.Errorf("store: copy: token %s: %w", id, ErrCorrupt)
		}
		if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
			return nil
		}
		var ephem []byte
		var ephemTill *time.Time
		if e, err := txn.Get(ephemKey(id)); err == nil {
			if ephem, err = e.ValueCopy(nil); err != nil {
				return err
			}
			till := time.Unix(int64(e.ExpiresAt()), 0).UTC()
			ephemTill = &till
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		rows.add(c.src.vaultKeys, id, t, sealed, ephem, ephemTill)
		if len(rows.ids) == c.opt.Batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return wk.wait(err)
}

// claims copies the dedupe index: which token deduplication finds for a type, fingerprint
// and set of containers (token_claims' key is the hash of Badger's index key).
func (c *copier) claims(ctx context.Context) error {
	var keys [][]byte
	var ids []string
	wk := newWorkers(ctx)
	flush := func() error {
		keys, ids := keys, ids
		return wk.do(func(ctx context.Context) error {
			return c.commit(ctx, "dedupe claims", len(keys),
				statement{copyClaimsSQL, []any{keys, ids}},
				nil,
				statement{`SELECT count(*) FROM token_claims c JOIN unnest($1::bytea[], $2::text[]) AS s(key, token_id)
				ON c.key = s.key AND c.token_id = s.token_id`, []any{keys, ids}})
		})
	}
	err := c.each(prefixFinger, func(txn *badger.Txn, item *badger.Item, owner []byte) error {
		if _, err := txn.Get(tokenKey(string(owner))); errors.Is(err, badger.ErrKeyNotFound) {
			return nil // its token expired a moment ago
		}
		k := sha256.Sum256(item.Key())
		keys, ids = append(keys, k[:]), append(ids, string(owner))
		if len(keys) == c.opt.Batch {
			err := flush()
			keys, ids = nil, nil
			return err
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return wk.wait(err)
}

// ---- applications and their keys ----

// sealedRecords are a batch of records kept sealed in PostgreSQL but not in Badger
// (applications, application keys): their plaintext, to compare with what the database holds.
type sealedRecords struct {
	ids    []string // applications: id; keys: application id
	keyIDs []string // keys only
	hashes [][]byte
	sealed [][]byte
	plain  [][]byte
}

// applications copies the application records, sealed as PostgreSQL keeps them. A record the
// database holds with the same content is not written again (a sealed value differs each time).
func (c *copier) applications(ctx context.Context) error {
	var r sealedRecords
	flush := func() error {
		if len(r.ids) == 0 {
			return nil
		}
		same, err := c.sameSealed(ctx, "SELECT id, '', sealed FROM applications WHERE id = ANY($1)", r.ids,
			func(id, _ string) []byte { return []byte(prefixApp + id) })
		if err != nil {
			return err
		}
		var ids []string
		var hashes, sealed [][]byte
		for i, id := range r.ids {
			if !bytes.Equal(same[id], r.plain[i]) {
				ids, hashes, sealed = append(ids, id), append(hashes, r.hashes[i]), append(sealed, r.sealed[i])
			}
		}
		err = c.commit(ctx, "applications", len(r.ids),
			statement{`WITH up AS (INSERT INTO applications (id, key_hash, sealed) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[])
				ON CONFLICT (id) DO UPDATE SET key_hash = EXCLUDED.key_hash, sealed = EXCLUDED.sealed RETURNING 1)
				SELECT count(*) FROM up`, []any{ids, hashes, sealed}},
			nil,
			statement{"SELECT count(*) FROM applications WHERE id = ANY($1)", []any{r.ids}})
		r = sealedRecords{}
		return err
	}
	err := c.each(prefixApp, func(_ *badger.Txn, _ *badger.Item, v []byte) error {
		var a struct {
			ID      string `json:"id"`
			KeyHash []byte `json:"key_hash"`
		}
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("store: copy: an application record: %w", ErrCorrupt)
		}
		var hash []byte
		if len(a.KeyHash) > 0 {
			hash = a.KeyHash
		}
		r.ids, r.hashes, r.plain = append(r.ids, a.ID), append(r.hashes, hash), append(r.plain, v)
		r.sealed = append(r.sealed, c.src.seal.Seal(nil, v, []byte(prefixApp+a.ID)))
		if len(r.ids) == c.opt.Batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// appKeys copies the applications' keys other than their first.
func (c *copier) appKeys(ctx context.Context) error {
	var r sealedRecords
	flush := func() error {
		if len(r.ids) == 0 {
			return nil
		}
		same, err := c.sameSealed(ctx, "SELECT application_id, id, sealed FROM app_keys WHERE application_id = ANY($1)", r.ids, appKeyAAD)
		if err != nil {
			return err
		}
		var apps, ids []string
		var hashes, sealed [][]byte
		for i := range r.ids {
			if !bytes.Equal(same[r.ids[i]+"\x00"+r.keyIDs[i]], r.plain[i]) {
				apps, ids = append(apps, r.ids[i]), append(ids, r.keyIDs[i])
				hashes, sealed = append(hashes, r.hashes[i]), append(sealed, r.sealed[i])
			}
		}
		err = c.commit(ctx, "application keys", len(r.ids),
			statement{`WITH up AS (INSERT INTO app_keys (application_id, id, key_hash, sealed)
				SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[])
				ON CONFLICT (application_id, id) DO UPDATE SET key_hash = EXCLUDED.key_hash, sealed = EXCLUDED.sealed RETURNING 1)
				SELECT count(*) FROM up`, []any{apps, ids, hashes, sealed}},
			nil,
			statement{`SELECT count(*) FROM app_keys k JOIN unnest($1::text[], $2::text[]) AS s(app, id)
				ON k.application_id = s.app AND k.id = s.id`, []any{r.ids, r.keyIDs}})
		r = sealedRecords{}
		return err
	}
	err := c.each(prefixAppKeyRec, func(_ *badger.Txn, _ *badger.Item, v []byte) error {
		var k AppKey
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("store: copy: an application key record: %w", ErrCorrupt)
		}
		r.ids, r.keyIDs, r.hashes, r.plain = append(r.ids, k.ApplicationID), append(r.keyIDs, k.ID), append(r.hashes, k.KeyHash), append(r.plain, v)
		r.sealed = append(r.sealed, c.src.seal.Seal(nil, v, appKeyAAD(k.ApplicationID, k.ID)))
		if len(r.ids) == c.opt.Batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// sameSealed reads sealed records (id, second id, sealed) with query and opens them: their
// plaintext by "id\x00second" (by id alone when second is empty). Records that do not open
// are left out: the copy writes them again.
func (c *copier) sameSealed(ctx context.Context, query string, ids []string, aad func(id, second string) []byte) (map[string][]byte, error) {
	rows, err := c.pool.Query(ctx, query, ids)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id, second string
		var sealed []byte
		if err := rows.Scan(&id, &second, &sealed); err != nil {
			return nil, pgErr(err)
		}
		if pt, err := c.src.seal.Open(nil, sealed, aad(id, second)); err == nil {
			if second != "" {
				id += "\x00" + second
			}
			out[id] = pt
		}
	}
	return out, pgErr(rows.Err())
}

// ---- documents, idempotency records ----

// documents copies proxies, keys, transform modules and reactors as stored (sealed or not:
// both backends bind a document's envelope to the same key).
func (c *copier) documents(ctx context.Context) error {
	for _, col := range []struct {
		kind string
		c    Collection
	}{{"proxies", Proxies}, {"keys", Keys}, {"transforms", Transforms}, {"reactors", Reactors}} {
		var ids []string
		var bodies [][]byte
		flush := func() error {
			err := c.commit(ctx, col.kind, len(ids),
				statement{`WITH up AS (INSERT INTO documents (collection, id, body) SELECT $1, * FROM unnest($2::text[], $3::bytea[])
					ON CONFLICT (collection, id) DO UPDATE SET body = EXCLUDED.body WHERE documents.body <> EXCLUDED.body RETURNING 1)
					SELECT count(*) FROM up`, []any{col.c.Prefix, ids, bodies}},
				nil,
				statement{`SELECT count(*) FROM documents d JOIN unnest($2::text[], $3::bytea[]) AS s(id, body)
					ON d.collection = $1 AND d.id = s.id AND d.body = s.body`, []any{col.c.Prefix, ids, bodies}})
			ids, bodies = nil, nil
			return err
		}
		prefix := col.c.Prefix + "/"
		err := c.each(prefix, func(_ *badger.Txn, item *badger.Item, v []byte) error {
			ids, bodies = append(ids, string(item.Key()[len(prefix):])), append(bodies, v)
			if len(ids) == c.opt.Batch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// idempotency copies the idempotency records still within their TTL, sealed as they are.
func (c *copier) idempotency(ctx context.Context) error {
	var keys, recs [][]byte
	var claims []*string
	var claimUntil []*time.Time
	var expires []time.Time
	flush := func() error {
		err := c.commit(ctx, "idempotency records", len(keys),
			statement{`WITH up AS (INSERT INTO idempotency (key, record, claim, claim_until, expires_at)
				SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::timestamptz[], $5::timestamptz[])
				ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, claim = EXCLUDED.claim,
					claim_until = EXCLUDED.claim_until, expires_at = EXCLUDED.expires_at
				WHERE idempotency.record <> EXCLUDED.record RETURNING 1) SELECT count(*) FROM up`,
				[]any{keys, recs, claims, claimUntil, expires}},
			nil,
			statement{`SELECT count(*) FROM idempotency i JOIN unnest($1::bytea[], $2::bytea[]) AS s(key, record)
				ON i.key = s.key AND i.record = s.record`, []any{keys, recs}})
		keys, recs, claims, claimUntil, expires = nil, nil, nil, nil, nil
		return err
	}
	now := time.Now()
	err := c.each(prefixIdem, func(_ *badger.Txn, item *badger.Item, v []byte) error {
		id := bytes.Clone(item.Key()[len(prefixIdem):])
		r, err := c.src.openIdem(id, v)
		if err != nil {
			return fmt.Errorf("store: copy: an idempotency record: %w", err)
		}
		if !r.ExpiresAt.After(now) {
			return nil
		}
		var claim *string
		var until *time.Time
		if r.Claim != "" {
			claim, until = &r.Claim, &r.ClaimUntil
		}
		keys, recs, claims, claimUntil, expires = append(keys, id), append(recs, v), append(claims, claim), append(claimUntil, until), append(expires, r.ExpiresAt)
		if len(keys) == c.opt.Batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// ---- audit events ----

func (c *copier) flushEvents(ctx context.Context, r *eventRows) error {
	err := c.commit(ctx, "audit events", len(r.ids),
		statement{"WITH up AS (" + insertEventsSQL + " ON CONFLICT (id) DO NOTHING RETURNING 1) SELECT count(*) FROM up", r.args()},
		nil,
		statement{"SELECT count(*) FROM events WHERE id = ANY($1)", []any{r.ids}})
	*r = eventRows{}
	return err
}

// events copies the audit events: those kept with their mutations in Badger, then the
// journal's, under their own ids (so a second run finds them).
func (c *copier) events(ctx context.Context) error {
	var rows eventRows
	batch := 5 * c.opt.Batch
	wk := newWorkers(ctx)
	flush := func() error {
		b := rows
		rows = eventRows{}
		return wk.do(func(ctx context.Context) error { return c.flushEvents(ctx, &b) })
	}
	err := c.each(prefixEvent, func(_ *badger.Txn, item *badger.Item, v []byte) error {
		var ev Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return fmt.Errorf("store: copy: an audit event: %w", ErrCorrupt)
		}
		rows.add(bytes.Clone(item.Key()[len(prefixEvent):]), &ev)
		if len(rows.ids) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = c.journalEvents(&rows, batch, flush)
	}
	if err == nil {
		err = flush()
	}
	return wk.wait(err)
}

// journalEvents adds the journal's events to rows, flushing every batch.
func (c *copier) journalEvents(rows *eventRows, batch int, flush func() error) error {
	if c.src.journal != nil {
		it := c.src.journal.Iter("")
		for {
			ev, ok, err := it.Next()
			if err != nil {
				return fmt.Errorf("store: copy: %w", journalErr(err))
			}
			if !ok {
				break
			}
			id, err := hex.DecodeString(ev.ID)
			if err != nil || len(id) != 16 {
				return fmt.Errorf("store: copy: an audit event id: %w", ErrCorrupt)
			}
			rows.add(id, &ev)
			if len(rows.ids) == batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// announce tells nodes already running on the database to drop every cached record, if the
// copy changed anything.
func (c *copier) announce(ctx context.Context) error {
	if c.written == 0 {
		return nil
	}
	return pgErr(pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		return recordChange(ctx, tx, ChangedUnknown, "", "")
	}))
}
