// Package transforms runs user-uploaded WebAssembly request and response
// transforms inside the edge, sandboxed by wazero.
//
// An Engine compiles a module once at upload (Compile), validates it against
// "sluice-abi v1" (ABI.md) and keeps a bounded pool of pre-instantiated
// instances per module. OnRequest and OnResponse borrow one instance for one
// call on an Exchange — the message the guest reads and may replace — and
// return an Outcome: continue, or end the exchange with a standard error or a
// custom response. OnReact runs a reactor (a module exporting
// sluice_on_react) on a ReactExchange: args in, a result {"raw", "tokenize"}
// out, or the same endings. A call that traps, times out, exits or runs out
// of memory fails with ErrTransformFailed and its instance is discarded.
//
// The package does not know HTTP or the vault: the server fills the Exchange
// and implements Services (tokenize, log) and HTTPDoer (the guests'
// sluice.http_request, through its egress policy).
//
// The guest SDK for Go is in transforms/sdk.
package transforms
