package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-edge/sluice/store/internal/seal"
)

// RekeyPostgres rotates the master key of the vault in the database at url from oldKey to
// newKey: the root secret is re-wrapped in one transaction; nothing else is rewritten (every
// working key derives from the root secret). Nodes still running with the old key keep working
// until they restart, and then need the new one. ErrWrongKey if oldKey does not open the root.
func RekeyPostgres(ctx context.Context, url string, oldKey, newKey []byte) error {
	if len(oldKey) != seal.KeySize || len(newKey) != seal.KeySize {
		return errors.New("store: master keys must be 32 bytes")
	}
	oldKEK, err := rootKEK(oldKey)
	if err != nil {
		return err
	}
	newKEK, err := rootKEK(newKey)
	if err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return errors.New("store: the database URL does not parse")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return pgErr(err)
	}
	defer pool.Close()
	if err := migrate(ctx, pool); err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var wrapped []byte
		if err := tx.QueryRow(ctx, "SELECT value FROM vault_meta WHERE name = 'root' FOR UPDATE").Scan(&wrapped); err != nil {
			return err
		}
		root, err := oldKEK.Open(nil, wrapped, []byte(keyRoot))
		if err != nil {
			return ErrWrongKey
		}
		rewrapped := newKEK.Seal(nil, root, []byte(keyRoot))
		clear(root)
		_, err = tx.Exec(ctx, "UPDATE vault_meta SET value = $1 WHERE name = 'root'", rewrapped)
		return err
	})
	return pgErr(err)
}
