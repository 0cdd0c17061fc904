// Command e2e is Sluice's end-to-end wall-clock benchmark (make bench-e2e). It reports; the
// gate that fails on a budget counts instructions instead (bench/cmd/gate, make bench-gate).
//
// It builds Sluice and the passthrough baseline (bench/cmd/passthrough), runs a fasthttp
// destination, starts both proxies (and nginx, if installed) as processes on loopback, and drives
// each with the same requests from a closed-loop load generator, interleaved, for several rounds
// at each concurrency. It prints requests/s, p50/p99 latency and each proxy's CPU time per
// request (utime+stime from /proc/<pid>/stat over requests) for: no tokens; 5 tokens in a 1 KB
// JSON body; 5 tokens + a WebAssembly request transform; one BT-ENCRYPTED token.
// It exits 2 when the harness itself fails. Linux only (it reads /proc).
package main

import (
	"os"

	"github.com/sluice-edge/sluice/bench/internal/harness"
)

func main() {
	os.Exit(harness.E2EMain(os.Args[1:], os.Stdout, os.Stderr))
}
