// Package bench measures Sluice: a Go benchmark for every stage of a proxied request; in
// cmd/gate, the instruction gate (callgrind counts instructions per request against a plain
// fasthttp passthrough proxy, cmd/passthrough); in cmd/e2e, the end-to-end wall-clock harness.
// It has no API; everything is in its tests and commands.
//
//	go test -run '^$' -bench . -benchmem ./bench/      stage and in-process proxy benchmarks
//	                                                   (gate-instr/op: the last gate's count)
//	go run ./bench/cmd/gate                            instructions per request; exit 1 when a budget is missed
//	go run ./bench/cmd/e2e                             end-to-end table over loopback (reported, not gated)
//
// The stages, in request order:
//
//	BenchmarkExpr…         expression scan and render of a 1 KB JSON body with 5 tokens
//	BenchmarkVault…        vault reads (sealed-record cache vs Badger) and audit writes
//	BenchmarkDetok…        the two together: ResolveTokens + render, from the cache and from the vault
//	BenchmarkJWE…          BT-ENCRYPTED decryption per key algorithm
//	BenchmarkWasm…         one request-transform call, tiny hand-written guest and standard Go guest
//	BenchmarkProxy…        the whole edge in process, over fasthttputil.InmemoryListener
//	BenchmarkPassthrough…  the baseline: a raw fasthttp proxy on the same requests
//
// See BENCHMARKS.md at the repository root for numbers and how they were taken.
package bench
