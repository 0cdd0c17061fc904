// Package abi holds the constants and the wire encodings of "sluice-abi v1",
// the contract between the edge (package transforms) and guest modules (the
// Go SDK in transforms/sdk, or any other language). ABI.md in transforms/ is
// the human-readable description; this file is the single source of truth
// for the numbers.
//
// Everything here is pure Go with no dependencies so that both the host and
// a GOOS=wasip1 guest can import it.
package abi

// Version names this ABI. A breaking change gets a new import module name.
const Version = "sluice-abi v1"

// Names every module relies on.
const (
	ImportModule     = "sluice"
	WASIModule       = "wasi_snapshot_preview1"
	ExportMemory     = "memory"
	ExportOnRequest  = "sluice_on_request"
	ExportOnResponse = "sluice_on_response"
	ExportOnReact    = "sluice_on_react"
	ExportInitialize = "_initialize"
	ExportStart      = "_start"
)

// Host function names in ImportModule.
const (
	FuncRead      = "read"         // (what, buf, cap i32) -> i32
	FuncWrite     = "write"        // (what, ptr, len i32) -> i32
	FuncSetStatus = "set_status"   // (status i32) -> i32
	FuncConfig    = "config"       // (name_ptr, name_len, buf, cap i32) -> i32
	FuncTokenize  = "tokenize"     // (type_ptr, type_len, data_ptr, data_len, out_ptr, out_cap i32) -> i32
	FuncEnd       = "end"          // (kind, ptr, len i32) -> i32
	FuncLog       = "log"          // (ptr, len i32)
	FuncHTTP      = "http_request" // (req_ptr, req_len, out_ptr, out_cap i32) -> i32
)

// Entry point results.
const (
	Continue = 0 // the exchange goes on with whatever the guest replaced
	Ended    = 1 // the guest called end and the exchange stops here
)

// What selects the item read or written by FuncRead / FuncWrite.
const (
	WhatHead    = 1 // read: method, path, query, status and headers (see EncodeHead)
	WhatBody    = 2 // read, write
	WhatHeaders = 3 // read, write: a headers block
	WhatPath    = 4 // write (request phase only)
	WhatQuery   = 5 // write (request phase only)
	WhatResult  = 6 // read: the id of the last tokenize, the last http_request's response, or the message of their failure
	WhatArgs    = 7 // read (react only): the reactor's resolved args, JSON
	WhatReact   = 8 // write (react only): the reactor's result, JSON {"raw"?: any, "tokenize"?: any}
)

// Negative results of host functions. Non-negative results are sizes.
const (
	OK            = 0
	ErrInvalid    = -1 // malformed argument: unknown what/kind, bad encoding, invalid header, status out of range
	ErrNotAllowed = -2 // not possible in this phase (e.g. writing the path of a response), outside a call, or http_request with no egress
	ErrNotFound   = -3 // config name not present
	ErrFailed     = -4 // tokenize or http_request failed; read WhatResult for a message
	ErrTooLarge   = -5 // over a host limit (header count, message count)
)

// Kinds passed to FuncEnd.
const (
	KindAuthenticationError       = 1 // 401
	KindAuthorizationError        = 2 // 403
	KindBadRequestError           = 3 // 400
	KindInvalidPaymentMethodError = 4 // 402
	KindRateLimitError            = 5 // 429
	KindServiceUnavailableError   = 6 // 503
	KindReactorRuntimeError       = 7 // 500
	KindCustomResponse            = 8 // payload: u32 status, headers block, body (rest)
	MaxKind                       = KindCustomResponse
)

// Limits enforced by the host on guest-supplied encodings.
const (
	MaxHeaders  = 1024 // header fields in one headers block
	MaxMessages = 64   // messages of one standard error
)

// Per-call caps: a host function refuses (ErrTooLarge, or the WASI errno
// inval) an argument over its cap before doing any work, so that no single
// host call takes long whatever the guest asks. The body cap and the token
// count are the edge's configuration (defaults in package transforms).
const (
	MaxHeaderBlockBytes = 1 << 20 // a headers block written by write(3, …) or in a custom response's head
	MaxPathBytes        = 64 << 10
	MaxQueryBytes       = 64 << 10
	MaxConfigNameBytes  = 1 << 10
	MaxTokenTypeBytes   = 64
	MaxTokenizeBytes    = 1 << 20 // data of one tokenize
	MaxRandomBytes      = 1 << 20 // one WASI random_get
	MaxIovecs           = 1024    // iovecs of one WASI fd_write (IOV_MAX on Linux)
	MaxMethodBytes      = 64      // the method of one http_request
	MaxURLBytes         = 8 << 10 // the URL of one http_request
)
