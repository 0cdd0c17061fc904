package transforms_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sluice-edge/sluice/transforms"
)

// A request transform appends a header; the server applies the parts the
// guest replaced.
func Example() {
	ctx := context.Background()
	engine, err := transforms.New(ctx, transforms.Config{})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)

	wasm, _ := os.ReadFile("testdata/tiny.wasm") // appends "x-tiny: 1"
	info, err := engine.Compile(ctx, wasm)
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Exports)

	ex := transforms.AcquireExchange()
	defer transforms.ReleaseExchange(ex)
	ex.Method, ex.Path = []byte("POST"), []byte("/v1/charges")
	ex.Headers = []transforms.Header{{Name: []byte("Content-Type"), Value: []byte("application/json")}}
	outcome, err := engine.OnRequest(ctx, info.ID, ex)
	if err != nil {
		panic(err)
	}
	fmt.Println(outcome.Ended, ex.Changed().Has(transforms.PartHeaders))
	for _, h := range ex.Headers {
		fmt.Printf("%s: %s\n", h.Name, h.Value)
	}
	// Output:
	// [sluice_on_request]
	// false true
	// Content-Type: application/json
	// x-tiny: 1
}
