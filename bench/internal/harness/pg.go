package harness

import (
	"github.com/sluice-edge/sluice/bench/internal/instr"
	"github.com/sluice-edge/sluice/store/storetest"
)

// SluicePG names a Sluice node whose vault is in PostgreSQL.
const SluicePG = instr.SluicePG

// postgres returns the URL of the database the PostgreSQL nodes share: url itself, or with
// "auto" that of a throwaway cluster (initdb + pg_ctl, see store/internal/pgtest), which stop
// removes. pid is the postmaster's, 0 when the server is not ours.
func postgres(url string) (u string, pid int, stop func(), err error) {
	if url != "auto" {
		return url, 0, func() {}, nil
	}
	return storetest.StartPostgres()
}
