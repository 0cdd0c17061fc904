package server

import "testing"

// A guest may rewrite the request's path and end the exchange with a response of its own; neither
// may take the caller out of the destination's base path or leave a connection half-upgraded.
func TestRejectGuestEscapesBasePathOrAnswers1xx(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	for _, tc := range []struct{ name, module string }{
		{"path leaves the base path", "escapepath"},
		{"custom 101 response", "switchproto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := e.wasmProxy(dest, e.upload(e.adminKey, testdataWasm(t, tc.module)), false, nil)
			before := len(dest.requests())
			r := e.do("POST", "/proxy", e.adminKey, "{}", "BT-PROXY-KEY", key, "Content-Type", "application/json")
			r.expectProblem(t, 500, true)
			if got := dest.requests(); len(got) != before {
				t.Fatalf("the destination was reached: %+v", got[before:])
			}
		})
	}
}
