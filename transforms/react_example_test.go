package transforms_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sluice-edge/sluice/transforms"
)

// A reactor gets its resolved args and returns raw and tokenize; the server
// tokenizes the latter and answers {"tokens", "raw"}.
func ExampleEngine_OnReact() {
	ctx := context.Background()
	engine, err := transforms.New(ctx, transforms.Config{
		// HTTPDoer: the server's, on its egress policy, for sluice.http_request.
	})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)

	// Its result is its args; it also exports sluice_on_request, so it is both.
	wasm, _ := os.ReadFile("testdata/reactecho.wasm")
	info, err := engine.Compile(ctx, wasm)
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Reactor(), info.Transform())

	rx := &transforms.ReactExchange{Args: []byte(`{"raw":{"status":201},"tokenize":{"card":"4242424242424242"}}`)}
	outcome, err := engine.OnReact(ctx, info.ID, rx)
	if err != nil {
		panic(err)
	}
	fmt.Println(outcome.Ended)
	fmt.Printf("raw %s, to tokenize %s\n", outcome.Raw, outcome.Tokenize)
	// Output:
	// true true
	// false
	// raw {"status":201}, to tokenize {"card":"4242424242424242"}
}
