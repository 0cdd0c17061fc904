package storetest

import (
	"testing"

	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

// PostgreSQL for the tests of packages outside store/ (pgtest is internal to it).

// PostgresMain runs m's tests, then stops the throwaway PostgreSQL if one was started: call it
// from TestMain.
func PostgresMain(m *testing.M) { pgtest.Main(m) }

// PostgresRun is PostgresMain for a TestMain with more to do after the tests: it returns their
// exit code.
func PostgresRun(m *testing.M) int { return pgtest.Run(m) }

// PostgresDump is pg_dump's plain SQL dump of the database at url, for at-rest checks.
func PostgresDump(t testing.TB, url string) string { return pgtest.PgDump(t, url) }

// PostgresDatabase returns the URL of a new, empty database, dropped when t ends; it skips t
// when no PostgreSQL can be had (see pgtest).
func PostgresDatabase(t testing.TB) string { return pgtest.Database(t) }

// PostgresServer is the throwaway cluster, for tests of outages, or nil when the tests use
// SLUICE_TEST_DATABASE_URL (or have no PostgreSQL). The cluster starts with the first
// PostgresDatabase: call that first.
func PostgresServer() interface {
	Stop() error
	Start() error
	Pause() error  // SIGSTOP: connections stay open, nothing answers
	Resume() error // SIGCONT
} {
	if c := pgtest.Server(); c != nil {
		return c
	}
	return nil
}

// StartPostgres starts a throwaway PostgreSQL outside a test (benchmarks; see pgtest): the URL
// of a database to use, the postmaster's pid and a function that stops and removes it.
func StartPostgres() (url string, pid int, stop func(), err error) { return pgtest.Throwaway() }
