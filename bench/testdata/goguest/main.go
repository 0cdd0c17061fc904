// Command goguest is the standard-Go transform BenchmarkWasmGoGuest runs: it reads the request
// head and adds one header, like transforms/testdata/tiny.wat does by hand, so the two benchmarks
// differ only by the guest's language and runtime. Built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import "github.com/sluice-edge/sluice/transforms/sdk"

func init() {
	sdk.HandleRequest(func(r *sdk.Request) error {
		r.Header.Set("X-Go-Guest", "1")
		return nil
	})
}

func main() {}
