// Package vault is the one token service: every token is created, read, changed and deleted
// here, whoever asks (the API, a declarative tokenize transform, a WebAssembly guest), so every
// rule is checked in one place — permission, type, id, containers the caller may use, data,
// mask, fingerprint expression, deduplication and the audit record that goes with each step.
// It knows nothing of HTTP: callers pass a principal and get tokens, views or errors whose
// status the shell decides.
package vault
