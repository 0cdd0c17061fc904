// Package obs is what the edge tells its operators: the Prometheus series (admin listener only),
// the canonical request log line and the buffered log writer. Nothing here sees a token's
// plaintext, an API key or a path: callers pass route patterns, counts and durations.
package obs
