package store

import (
	"context"
	"crypto/subtle"
	"encoding/json"

	"github.com/jackc/pgx/v5"
)

func appKeyAAD(appID, keyID string) []byte { return appKeyRecKey(appID, keyID) }

func (s *pgStore) sealAppKey(k *AppKey) ([]byte, error) {
	b, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	return s.seal.Seal(nil, b, appKeyAAD(k.ApplicationID, k.ID)), nil
}

func (s *pgStore) openAppKey(appID, keyID string, sealed []byte) (*AppKey, error) {
	b, err := s.seal.Open(nil, sealed, appKeyAAD(appID, keyID))
	if err != nil {
		return nil, ErrCorrupt
	}
	var k AppKey
	if err := json.Unmarshal(b, &k); err != nil || k.ID != keyID || k.ApplicationID != appID {
		return nil, ErrCorrupt
	}
	return &k, nil
}

func (s *pgStore) ApplicationKey(ctx context.Context, key string) (*Application, *AppKey, error) {
	if s.closed.Load() {
		return nil, nil, ErrClosed
	}
	h := s.HashKey(key)
	var appID, keyID string
	var appSealed, keySealed []byte
	err := s.pool.QueryRow(ctx, `SELECT a.id, a.sealed, NULL::bytea, ''::text FROM applications a WHERE a.key_hash = $1
		UNION ALL
		SELECT a.id, a.sealed, k.sealed, k.id FROM app_keys k JOIN applications a ON a.id = k.application_id WHERE k.key_hash = $1
		LIMIT 1`, h).Scan(&appID, &appSealed, &keySealed, &keyID)
	if err != nil {
		return nil, nil, pgErr(err)
	}
	a, err := s.openApp(appID, appSealed)
	if err != nil {
		return nil, nil, err
	}
	k := firstKey(a)
	if keySealed != nil {
		if k, err = s.openAppKey(appID, keyID, keySealed); err != nil {
			return nil, nil, err
		}
	}
	if k == nil || subtle.ConstantTimeCompare(k.KeyHash, h) != 1 {
		return nil, nil, ErrNotFound
	}
	return a, k, nil
}

func (s *pgStore) ApplicationByKey(ctx context.Context, key string) (*Application, error) {
	a, _, err := s.ApplicationKey(ctx, key)
	return a, err
}

// lockApp reads an application's record in tx, locking its row until tx ends.
func (s *pgStore) lockApp(ctx context.Context, tx pgx.Tx, id string) (*Application, error) {
	var sealed []byte
	if err := tx.QueryRow(ctx, "SELECT sealed FROM applications WHERE id = $1 FOR UPDATE", id).Scan(&sealed); err != nil {
		return nil, err
	}
	return s.openApp(id, sealed)
}

// otherAppKeys reads an application's keys other than its first.
func (s *pgStore) otherAppKeys(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, appID string) ([]*AppKey, error) {
	rows, err := q.Query(ctx, "SELECT id, sealed FROM app_keys WHERE application_id = $1", appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AppKey
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, err
		}
		k, err := s.openAppKey(appID, id, sealed)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *pgStore) CreateAppKey(ctx context.Context, k *AppKey, ev Event) error {
	if err := checkAppKey(k, &ev); err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		a, err := s.lockApp(ctx, tx, k.ApplicationID)
		if err != nil {
			return err
		}
		if first := firstKey(a); first != nil && first.ID == k.ID {
			return ErrConflict
		}
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM applications WHERE key_hash = $1)", k.KeyHash).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrConflict
		}
		others, err := s.otherAppKeys(ctx, tx, k.ApplicationID)
		if err != nil {
			return err
		}
		k.Version = nextKeyVersion(a, others)
		sealed, err := s.sealAppKey(k)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO app_keys (application_id, id, key_hash, sealed) VALUES ($1, $2, $3, $4)",
			k.ApplicationID, k.ID, k.KeyHash, sealed); err != nil {
			return err
		}
		return s.commitEvent(ctx, tx, &ev, ChangedApplication, "", k.ApplicationID)
	})
}

func (s *pgStore) AppKeys(ctx context.Context, appID string) ([]*AppKey, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if !storable(appID) {
		return nil, ErrNotFound
	}
	var out []*AppKey
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var sealed []byte
		if err := tx.QueryRow(ctx, "SELECT sealed FROM applications WHERE id = $1", appID).Scan(&sealed); err != nil {
			return err
		}
		a, err := s.openApp(appID, sealed)
		if err != nil {
			return err
		}
		others, err := s.otherAppKeys(ctx, tx, appID)
		out = withFirstKey(a, others)
		return err
	})
	return out, pgErr(err)
}

func (s *pgStore) GetAppKey(ctx context.Context, appID, keyID string) (*AppKey, error) {
	return findAppKey(s.AppKeys(ctx, appID))(keyID)
}

func (s *pgStore) DeleteAppKey(ctx context.Context, appID, keyID string, ev Event) error {
	if err := checkWrite(appID, &ev); err != nil {
		return err
	}
	if !storable(keyID) {
		return ErrNotFound
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		a, err := s.lockApp(ctx, tx, appID)
		if err != nil {
			return err
		}
		if first := firstKey(a); first != nil && first.ID == keyID {
			a.KeyHash = nil
			sealed, err := s.sealApp(a)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE applications SET key_hash = NULL, sealed = $2 WHERE id = $1", appID, sealed); err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, "DELETE FROM app_keys WHERE application_id = $1 AND id = $2", appID, keyID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return ErrNotFound
			}
		}
		return s.commitEvent(ctx, tx, &ev, ChangedApplication, "", appID)
	})
}
