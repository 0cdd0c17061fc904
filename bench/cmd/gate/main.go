// Command gate is Sluice's benchmark gate (make bench-gate): it counts the instructions per
// request of Sluice and of the passthrough baseline (and nginx, if installed) on every
// scenario with callgrind, in one run, prints the table and exits 1 when a budget is missed
// (2 when the harness itself fails). Instruction counts, unlike CPU time, do not move with the
// neighbours' load on a shared machine, so the gate can hold in CI; every process of the run
// shares one CPU so that the order of a request's exchanges does not depend on the neighbours
// either (-one-cpu). Linux only; needs valgrind.
//
// Budgets (issue 16; instr.Default): 0 tokens ≤ 1.5× the passthrough, 5 tokens ≤ 2.8×, the
// tiny wasm transform ≤ +8 k instructions over 5 tokens, the Go-SDK guest ≤ +30 k, a
// BT-ENCRYPTED request ≤ one X25519 + the 0-token request + 40 k; and the 5-token scenario,
// measured twice, within 3 %. -budget overrides them (e.g. to see the gate fail).
// -database-url adds a node whose vault is in PostgreSQL, counted on the same 0- and 5-token
// requests and reported beside the Badger node, never budgeted.
package main

import (
	"os"

	"github.com/sluice-edge/sluice/bench/internal/harness"
	"github.com/sluice-edge/sluice/store/storetest"
)

func main() {
	os.Exit(harness.GateMain(os.Args[1:], os.Stdout, os.Stderr, storetest.StartPostgres))
}
