// Command pgload measures Sluice nodes whose vault is in PostgreSQL (SPEC §11) against a Badger
// node, as processes on loopback: the 5-token proxied request with its tokens cached, and token
// creation, each on the Badger node, on one PostgreSQL node and on two PostgreSQL nodes sharing
// the database at once. It prints requests/s, p50/p99 latency, and CPU per request of the nodes
// and of PostgreSQL (with -database-url auto, a throwaway cluster whose processes it can read),
// then the goals of issue 19: cached-token proxying ≤ 1.2× the Badger node's CPU per request,
// creates ≥ 2,000/s. Wall-clock numbers: they move with the machine's load. It reports; it
// gates nothing. Exit 2 when the harness fails. Linux only (it reads /proc).
package main

import (
	"os"

	"github.com/sluice-edge/sluice/bench/internal/harness"
	"github.com/sluice-edge/sluice/store/storetest"
)

func main() {
	os.Exit(harness.PGLoadMain(os.Args[1:], os.Stdout, os.Stderr, storetest.StartPostgres))
}
