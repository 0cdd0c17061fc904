package harness

import (
	"errors"

	"github.com/sluice-edge/sluice/bench/internal/instr"
)

// SluicePG names a Sluice node whose vault is in PostgreSQL.
const SluicePG = instr.SluicePG

// Throwaway starts a PostgreSQL cluster of its own (initdb + pg_ctl, see
// store/internal/pgtest) and returns its URL, its postmaster's pid and how to stop and remove
// it. The commands pass storetest.StartPostgres: the harness does not import the store, so its
// test binary does not link Badger and the store's PostgreSQL driver.
type Throwaway func() (url string, pid int, stop func(), err error)

// postgres returns the URL of the database the PostgreSQL nodes share: url itself, or with
// "auto" that of a cluster started by throwaway, which stop removes. pid is the postmaster's,
// 0 when the server is not ours.
func postgres(url string, throwaway Throwaway) (u string, pid int, stop func(), err error) {
	if url != "auto" {
		return url, 0, func() {}, nil
	}
	if throwaway == nil {
		return "", 0, nil, errors.New("harness: no way to start a throwaway cluster")
	}
	return throwaway()
}
