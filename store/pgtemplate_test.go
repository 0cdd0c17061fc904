package store

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

// MigratedPostgresDatabase returns the URL of a new database at the newest schema, without a
// vault yet, dropped when t ends: a copy of one the store's own migration made (see
// pgtest.MigratedDatabase). Tests of the migration itself take pgtest.Database.
func MigratedPostgresDatabase(t testing.TB) string {
	t.Helper()
	return pgtest.MigratedDatabase(t, migrateURL)
}

func migrateURL(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

// TestMigratedTemplateIsWhatMigrationMakes: a database copied from the migrated template is,
// table for table and row for row, an empty database the store migrated itself (the times the
// schema steps were applied and pg_dump's random \restrict key aside), so tests that start
// from the copy test the store on the schema it makes.
func TestMigratedTemplateIsWhatMigrationMakes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	migrated := pgtest.Database(t)
	if err := migrateURL(ctx, migrated); err != nil {
		t.Fatal(err)
	}
	copied := MigratedPostgresDatabase(t)
	dumps := make([]string, 2)
	for i, url := range []string{migrated, copied} {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pool.Exec(ctx, "UPDATE schema_version SET applied_at = 'epoch'")
		pool.Close()
		if err != nil {
			t.Fatal(err)
		}
		dumps[i] = withoutRestrictKey(pgtest.PgDump(t, url))
	}
	if dumps[0] != dumps[1] {
		t.Fatalf("a copy of the template differs from a migrated database:\n--- migrated\n%s\n--- copy\n%s", dumps[0], dumps[1])
	}
}

// withoutRestrictKey drops the lines of a dump that carry pg_dump's random \restrict key.
func withoutRestrictKey(dump string) string {
	var b strings.Builder
	for line := range strings.Lines(dump) {
		if !strings.HasPrefix(line, `\restrict `) && !strings.HasPrefix(line, `\unrestrict `) {
			b.WriteString(line)
		}
	}
	return b.String()
}
