package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// BeginIdempotent reads the key's row locked (or takes the key's advisory lock when there is
// none yet), so racing nodes decide one after the other.
func (s *pgStore) BeginIdempotent(ctx context.Context, scope, key string, requestHash []byte, ttl time.Duration) (IdemResult, error) {
	if err := checkIdem(scope, key, ttl); err != nil {
		return IdemResult{}, err
	}
	id := s.idemID(scope, key)
	var res IdemResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", claimLock(id)); err != nil {
			return err
		}
		old, err := s.pgIdem(ctx, tx, id)
		if err != nil {
			return err
		}
		var fresh *idemRecord
		res, fresh = beginIdem(old, requestHash, ttl, time.Now())
		if fresh == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO idempotency (key, record, claim, claim_until, expires_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, claim = EXCLUDED.claim,
				claim_until = EXCLUDED.claim_until, expires_at = EXCLUDED.expires_at`,
			id, s.sealIdem(id, fresh), fresh.Claim, fresh.ClaimUntil, fresh.ExpiresAt)
		return err
	})
	return res, err
}

// pgIdem reads the record of id, locking its row (nil when there is none).
func (s *pgStore) pgIdem(ctx context.Context, tx pgx.Tx, id []byte) (*idemRecord, error) {
	var sealed []byte
	err := tx.QueryRow(ctx, "SELECT record FROM idempotency WHERE key = $1 FOR UPDATE", id).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.openIdem(id, sealed)
}

func (s *pgStore) FinishIdempotent(ctx context.Context, scope, key, claim string, status int, body []byte) error {
	id := s.idemID(scope, key)
	return s.tx(ctx, func(tx pgx.Tx) error {
		r, err := s.pgIdem(ctx, tx, id)
		if err != nil {
			return err
		}
		if r == nil || r.Done || r.Claim != claim || !r.ExpiresAt.After(time.Now()) {
			return ErrNotFound
		}
		r.Done, r.Status, r.Body, r.Claim, r.ClaimUntil = true, status, body, "", time.Time{}
		_, err = tx.Exec(ctx, "UPDATE idempotency SET record = $2, claim = NULL, claim_until = NULL WHERE key = $1", id, s.sealIdem(id, r))
		return err
	})
}

func (s *pgStore) AbandonIdempotent(ctx context.Context, scope, key, claim string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	_, err := s.pool.Exec(ctx, "DELETE FROM idempotency WHERE key = $1 AND claim = $2", s.idemID(scope, key), claim)
	return pgErr(err)
}
