// Package edge is the request kit every room uses: reading and decoding a request within its
// limits, writing JSON and RFC 7807 answers, and who is calling — the Authenticator maps API keys
// to Principals (cached by a per-process tag of the key), counts calls against the rate limits,
// and Principal says what the caller may do (permissions, containers). It decides no status for
// errors it did not make: the shell's one map does.
package edge
