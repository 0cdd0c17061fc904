package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// ---- tokens ----

// claimKey is t's dedupe key in token_claims (nil without a fingerprint): a hash of the same
// type, fingerprint and container set Badger's index entry names.
func claimKey(t *Token) []byte {
	if t.Fingerprint == "" {
		return nil
	}
	k := sha256.Sum256(indexKey(t))
	return k[:]
}

// claimLock is the pg_advisory_xact_lock key of a dedupe claim: creates with dedupe of one
// value take turns, so that of racing ones the second finds the first's token.
func claimLock(key []byte) int64 { return int64(binary.BigEndian.Uint64(key)) }

// claim points key at token id unless another live token holds it: the first token keeps the
// claim until it is deleted, expires or moves (see Store.CreateToken).
func claim(ctx context.Context, tx pgx.Tx, key []byte, id string, now time.Time) error {
	if key == nil {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO token_claims (key, token_id) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET token_id = EXCLUDED.token_id
		WHERE NOT EXISTS (SELECT 1 FROM tokens t WHERE t.id = token_claims.token_id AND t.claim_key = token_claims.key
			AND (t.expires_at IS NULL OR t.expires_at > $3))`, key, id, now)
	return err
}

// tokenRow is a token as its row holds it: the sealed records and their times.
type tokenRow struct {
	rec, ephem []byte
	ephemTill  time.Time
	expires    *time.Time
	claim      []byte
}

func (s *pgStore) tokenRow(t *Token) (*tokenRow, error) {
	rec, ephem, ephemTill, err := s.sealToken(t)
	if err != nil {
		return nil, err
	}
	return &tokenRow{rec: rec, ephem: ephem, ephemTill: ephemTill, expires: t.ExpiresAt, claim: claimKey(t)}, nil
}

// ephemArgs are the ephem and ephem_until column values.
func (r *tokenRow) ephemArgs() (any, any) {
	if r.ephem == nil {
		return nil, nil
	}
	return r.ephem, r.ephemTill
}

// entryOf is a token row's columns as the sealed cache keeps them: short-lived fields only
// with their deadline.
func entryOf(sealed, ephem []byte, ephemTill, expires *time.Time) *cacheEntry {
	e := &cacheEntry{token: sealed}
	if ephem != nil && ephemTill != nil {
		e.ephem, e.ephemTill = ephem, *ephemTill
	}
	if expires != nil {
		e.expires = *expires
	}
	return e
}

const tokenColumns = "sealed, ephem, ephem_until, expires_at"

// insertTokenSQL inserts a token, its dedupe claim (taken over only from a token no longer
// live, $9 being now), its event ($10…) and its terms ($17, $18) in one statement: none of it happens if the id is
// taken. It returns how many tokens it inserted.
const insertTokenSQL = `WITH ins AS (
		INSERT INTO tokens (id, sealed, ephem, ephem_until, expires_at, claim_key, type_tag, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id),
	cl AS (
		INSERT INTO token_claims (key, token_id) SELECT $6, id FROM ins WHERE $6::bytea IS NOT NULL
		ON CONFLICT (key) DO UPDATE SET token_id = EXCLUDED.token_id
		WHERE NOT EXISTS (SELECT 1 FROM tokens t WHERE t.id = token_claims.token_id AND t.claim_key = token_claims.key
			AND (t.expires_at IS NULL OR t.expires_at > $9))),
	ev AS (
		INSERT INTO events (id, created_at, entity_type, entity_id, operation, actor, proxy_id, reason)
		SELECT $10, $11, $12, $13, $14, $15, $16, $17 FROM ins),
	tm AS (
		INSERT INTO token_terms (tag, pos, token_id) SELECT tag, $18, id FROM ins, unnest($19::bytea[]) AS tag)
	SELECT count(*) FROM ins`

// batchSender is a pool (a statement or a batch is then its own transaction) or a transaction.
type batchSender interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// insertToken inserts t; ErrConflict if the id is taken by a live token. Ids are fresh as a
// rule, so the insert goes first, alone: only when the id is taken does a second round trip
// free it from an expired token and insert again.
func (s *pgStore) insertToken(ctx context.Context, q batchSender, t *Token, row *tokenRow, ev *Event, now time.Time) error {
	ephem, ephemTill := row.ephemArgs()
	args := append([]any{t.ID, row.rec, ephem, ephemTill, row.expires, row.claim, s.tag("type", t.Type), t.CreatedAt, now}, eventArgs(ev)...)
	args = append(args, tokenPos(t), s.tokenTerms(t))
	var n int
	if err := q.QueryRow(ctx, insertTokenSQL, args...).Scan(&n); err != nil || n == 1 {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM tokens WHERE id = $1 AND expires_at <= $2", t.ID, now) // its claims go with it
	b.Queue(insertTokenSQL, args...)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return err
	}
	if err := res.QueryRow().Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrConflict
	}
	return res.Close()
}

// CreateToken inserts the token, its claim and its event in one statement; with dedupe, the
// transaction first takes the claim's lock and looks for its live owner.
func (s *pgStore) CreateToken(ctx context.Context, t *Token, dedupe bool, ev Event) (*Token, bool, error) {
	if err := checkWrite(t.ID, &ev); err != nil {
		return nil, false, err
	}
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	row, err := s.tokenRow(t)
	if err != nil {
		return nil, false, err
	}
	defer s.cache.drop(t.ID)
	if !dedupe || row.claim == nil {
		if err := pgErr(s.insertToken(ctx, s.pool, t, row, &ev, time.Now())); err != nil {
			return nil, false, err
		}
		return t, false, nil
	}
	var existing *Token
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		existing, err = s.createInTx(ctx, tx, t, row, true, &ev)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		return existing, true, nil
	}
	return t, false, nil
}

// createInTx creates t in tx, or with dedupe returns the live token holding its claim (taking
// the claim's lock first, so racing creates of one value agree on one token).
func (s *pgStore) createInTx(ctx context.Context, tx pgx.Tx, t *Token, row *tokenRow, dedupe bool, ev *Event) (*Token, error) {
	now := time.Now()
	if !dedupe || row.claim == nil {
		return nil, s.insertToken(ctx, tx, t, row, ev, now)
	}
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1)", claimLock(row.claim))
	b.Queue(`SELECT t.id, t.sealed, t.ephem, t.ephem_until, t.expires_at FROM token_claims c JOIN tokens t ON t.id = c.token_id AND t.claim_key = c.key
		WHERE c.key = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)`, row.claim, now)
	res := tx.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		res.Close()
		return nil, err
	}
	var id string
	var sealed, ephem []byte
	var ephemTill, expires *time.Time
	err := res.QueryRow().Scan(&id, &sealed, &ephem, &ephemTill, &expires)
	res.Close()
	switch {
	case err == nil:
		old, err := s.openToken(id, entryOf(sealed, ephem, ephemTill, expires))
		if err == nil {
			return old, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, err
	}
	return nil, s.insertToken(ctx, tx, t, row, ev, now)
}

// CreateTokens creates the tokens in one transaction: all or nothing.
func (s *pgStore) CreateTokens(ctx context.Context, reqs []TokenCreate) ([]TokenCreated, error) {
	if err := checkBatch(reqs); err != nil {
		return nil, err
	}
	rows := make([]*tokenRow, len(reqs))
	for i, r := range reqs {
		var err error
		if rows[i], err = s.tokenRow(r.Token); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	defer func() {
		for _, r := range reqs {
			s.cache.drop(r.Token.ID)
		}
	}()
	out := make([]TokenCreated, len(reqs))
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for i, r := range reqs {
			ev := r.Event
			existing, err := s.createInTx(ctx, tx, r.Token, rows[i], r.Dedupe, &ev)
			if retryable(err) {
				return err // the whole transaction again
			}
			if err != nil {
				return &BatchError{Index: i, Err: pgErr(err)}
			}
			out[i] = created(r.Token, existing)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *pgStore) GetToken(ctx context.Context, id string) (*Token, error) {
	return getOne(s, ctx, id)
}

// GetTokens serves what it can from the sealed cache and reads the rest in one query.
func (s *pgStore) GetTokens(ctx context.Context, ids []string) (map[string]*Token, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out := make(map[string]*Token, len(ids))
	var miss []string
	for _, id := range ids {
		e := s.cache.get(id)
		if e == nil {
			if storable(id) { // other ids cannot exist
				miss = append(miss, id)
			}
			continue
		}
		t, err := s.openToken(id, e)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = t
	}
	if len(miss) == 0 {
		return out, nil
	}
	gen := s.cache.generation()
	rows, err := s.pool.Query(ctx, "SELECT id, "+tokenColumns+" FROM tokens WHERE id = ANY($1)", miss)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sealed, ephem []byte
		var ephemTill, expires *time.Time
		if err := rows.Scan(&id, &sealed, &ephem, &ephemTill, &expires); err != nil {
			return nil, pgErr(err)
		}
		e := entryOf(sealed, ephem, ephemTill, expires)
		t, err := s.openToken(id, e)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.cache.put(id, e, gen)
		out[id] = t
	}
	if err := rows.Err(); err != nil {
		return nil, pgErr(err)
	}
	return out, nil
}

// ResolveTokens opens tokens from this node's sealed cache, reading the rest in one query.
func (s *pgStore) ResolveTokens(ctx context.Context, ids []string, r *Resolved) error {
	return s.resolve(ctx, s.cache, s, ids, r)
}

func (s *pgStore) UpdateToken(ctx context.Context, t *Token, ev Event) error {
	if err := checkWrite(t.ID, &ev); err != nil {
		return err
	}
	row, err := s.tokenRow(t)
	if err != nil {
		return err
	}
	ephem, ephemTill := row.ephemArgs()
	defer s.cache.drop(t.ID)
	return s.tx(ctx, func(tx pgx.Tx) error {
		now := time.Now()
		if row.claim != nil {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", claimLock(row.claim)); err != nil {
				return err
			}
		}
		var oldClaim []byte
		var expires *time.Time
		err := tx.QueryRow(ctx, "SELECT claim_key, expires_at FROM tokens WHERE id = $1 FOR UPDATE", t.ID).Scan(&oldClaim, &expires)
		if err != nil {
			return err
		}
		if expires != nil && !expires.After(now) {
			return ErrNotFound
		}
		if oldClaim != nil && !bytes.Equal(oldClaim, row.claim) {
			if _, err := tx.Exec(ctx, "DELETE FROM token_claims WHERE key = $1 AND token_id = $2", oldClaim, t.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET sealed = $2, ephem = $3, ephem_until = $4, expires_at = $5, claim_key = $6,
			type_tag = $7 WHERE id = $1`, t.ID, row.rec, ephem, ephemTill, row.expires, row.claim, s.tag("type", t.Type)); err != nil {
			return err
		}
		if err := claim(ctx, tx, row.claim, t.ID, now); err != nil {
			return err
		}
		if err := s.reindexTerms(ctx, tx, t); err != nil {
			return err
		}
		return s.commitEvent(ctx, tx, &ev, ChangedToken, "", t.ID)
	})
}

func (s *pgStore) DeleteToken(ctx context.Context, id string, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	defer s.cache.drop(id)
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Its claims and terms go with it (the trigger tokens_deleted).
		tag, err := tx.Exec(ctx, "DELETE FROM tokens WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)", id, time.Now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return s.commitEvent(ctx, tx, &ev, ChangedToken, "", id)
	})
}

// ---- applications ----

// An application's record is sealed, bound to its id; its API key's keyed hash is a column
// of its own, for the lookup by key.

func (s *pgStore) sealApp(a *Application) ([]byte, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return s.seal.Seal(nil, b, []byte(prefixApp+a.ID)), nil
}

func (s *pgStore) openApp(id string, sealed []byte) (*Application, error) {
	b, err := s.seal.Open(nil, sealed, []byte(prefixApp+id))
	if err != nil {
		return nil, ErrCorrupt
	}
	var a Application
	if err := json.Unmarshal(b, &a); err != nil || a.ID != id {
		return nil, ErrCorrupt
	}
	return &a, nil
}

func (s *pgStore) CreateApplication(ctx context.Context, a *Application, ev Event) error {
	if err := checkWrite(a.ID, &ev); err != nil {
		return err
	}
	sealed, err := s.sealApp(a)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO applications (id, key_hash, sealed) VALUES ($1, $2, $3)", a.ID, a.KeyHash, sealed); err != nil {
			return err
		}
		return s.commitEvent(ctx, tx, &ev, ChangedApplication, "", a.ID)
	})
}

func (s *pgStore) GetApplication(ctx context.Context, id string) (*Application, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if !storable(id) {
		return nil, ErrNotFound
	}
	var sealed []byte
	if err := s.pool.QueryRow(ctx, "SELECT sealed FROM applications WHERE id = $1", id).Scan(&sealed); err != nil {
		return nil, pgErr(err)
	}
	return s.openApp(id, sealed)
}

func (s *pgStore) ListApplications(ctx context.Context) ([]*Application, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, "SELECT id, sealed FROM applications ORDER BY id")
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	var out []*Application
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, pgErr(err)
		}
		a, err := s.openApp(id, sealed)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, pgErr(rows.Err())
}

func (s *pgStore) UpdateApplication(ctx context.Context, a *Application, ev Event) error {
	if err := checkWrite(a.ID, &ev); err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		old, err := s.lockApp(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		rec := keepDeletedFirstKey(old, a)
		sealed, err := s.sealApp(rec)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE applications SET key_hash = $2, sealed = $3 WHERE id = $1", a.ID, nullIfEmpty(rec.KeyHash), sealed); err != nil {
			return err
		}
		return s.commitEvent(ctx, tx, &ev, ChangedApplication, "", a.ID)
	})
}

// nullIfEmpty is NULL for an empty key hash (an application without a first key).
func nullIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (s *pgStore) DeleteApplication(ctx context.Context, id string, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM applications WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return s.commitEvent(ctx, tx, &ev, ChangedApplication, "", id)
	})
}

// ---- documents ----

func (s *pgStore) Put(ctx context.Context, c Collection, id string, doc []byte, create bool, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	body := s.sealDoc(c, id, doc)
	return s.tx(ctx, func(tx pgx.Tx) error {
		var sql string
		if create {
			sql = "INSERT INTO documents (collection, id, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
		} else {
			sql = "UPDATE documents SET body = $3 WHERE collection = $1 AND id = $2"
		}
		tag, err := tx.Exec(ctx, sql, c.Prefix, id, body)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			if create {
				return ErrConflict
			}
			return ErrNotFound
		}
		return s.commitEvent(ctx, tx, &ev, ChangedDocument, c.Prefix, id)
	})
}

func (s *pgStore) Get(ctx context.Context, c Collection, id string) ([]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if !storable(id) {
		return nil, ErrNotFound
	}
	var body []byte
	if err := s.pool.QueryRow(ctx, "SELECT body FROM documents WHERE collection = $1 AND id = $2", c.Prefix, id).Scan(&body); err != nil {
		return nil, pgErr(err)
	}
	return s.openDoc(c, docKey(c, id), body)
}

func (s *pgStore) List(ctx context.Context, c Collection) ([][]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.pool.Query(ctx, "SELECT id, body FROM documents WHERE collection = $1 ORDER BY id", c.Prefix)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var id string
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return nil, pgErr(err)
		}
		d, err := s.openDoc(c, docKey(c, id), body)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, pgErr(rows.Err())
}

func (s *pgStore) Delete(ctx context.Context, c Collection, id string, ev Event) error {
	if err := checkWrite(id, &ev); err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM documents WHERE collection = $1 AND id = $2", c.Prefix, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return s.commitEvent(ctx, tx, &ev, ChangedDocument, c.Prefix, id)
	})
}
