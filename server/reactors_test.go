package server

import (
	"testing"
)

// TestRejectReactorOnlyModuleAsTransform: a module whose only entry point is sluice_on_react
// cannot be uploaded as a transform (it could never run on a proxy), nor named by one.
func TestRejectReactorOnlyModuleAsTransform(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	reactOnly := testdataWasm(t, "reactloop")
	e.do("POST", "/transforms", e.adminKey, reactOnly, "Content-Type", "application/wasm").expectProblem(t, 422, false)
	if l := e.do("GET", "/transforms", e.adminKey, nil).expect(t, 200).json(t)["data"].([]any); len(l) != 0 {
		t.Fatalf("the refused module was kept: %v", l)
	}
	// Both entry points: accepted as a transform.
	e.do("POST", "/transforms", e.adminKey, testdataWasm(t, "reactecho"), "Content-Type", "application/wasm").expect(t, 201)
}
