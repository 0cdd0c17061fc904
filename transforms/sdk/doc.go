// Package sdk is the Go guest SDK for Sluice WebAssembly transforms
// ("sluice-abi v1", see transforms/ABI.md).
//
// A transform is a package main that registers its handler in init and is
// built as a WASI reactor:
//
//	package main
//
//	import "github.com/sluice-edge/sluice/transforms/sdk"
//
//	func init() {
//		sdk.HandleRequest(func(r *sdk.Request) error {
//			if r.Header.Get("X-Customer-Id") == "" {
//				return sdk.AuthenticationError("X-Customer-Id header is required")
//			}
//			r.Header.Set("X-Seen-By", "sluice")
//			return nil
//		})
//	}
//
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o t.wasm .
//
// main is never run: with -buildmode=c-shared the edge runs package
// initialization once per instance (_initialize), then calls the exported
// entry points, one call at a time. Globals survive between calls of one
// instance, but instances are created and discarded at will: never rely on
// them for state.
//
// A handler changes the message by assigning the fields of Request or
// Response (Path, Query, Status, Header) and calling SetBody; the SDK sends
// only what changed after the handler returns. To end the exchange it
// returns one of the standard errors (AuthenticationError, …) or a
// CustomResponse. Any other error ends it with ReactorRuntimeError and a
// fixed message (the error's text goes to the log, not to the caller, as it
// may contain data). A panic fails the call (500).
//
// A reactor registers HandleReact instead: its handler gets the resolved
// args (JSON) and returns a Result (raw JSON answered as is, JSON the edge
// tokenizes) or one of the errors above. Transforms and reactors may call a
// destination with Do (sluice.http_request), through the edge's egress
// policy, within the call's deadline.
//
// Modules built with this SDK export sluice_on_request, sluice_on_response
// and sluice_on_react; a phase without a registered handler continues
// unchanged, and a react call without a handler fails.
//
// Outside GOOS=wasip1 the package builds against an in-memory stand-in for
// the edge, so code using it compiles and vets on any platform.
package sdk
