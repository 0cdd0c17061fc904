package server

import "testing"

// TestTokenUpdateNamesWhoModifiedIt: a PATCH answers, and later reads return, modified_by — the
// updating application's id, as Basis Theory's token does.
func TestTokenUpdateNamesWhoModifiedIt(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	updater, updaterID := e.newApp("private", "token:update", "token:read")
	made := e.do("POST", "/tokens", e.adminKey, map[string]any{"type": "token", "data": "x"}).expect(t, 201).json(t)
	id := made["id"].(string)
	if _, has := made["modified_by"]; has {
		t.Fatalf("a new token has modified_by: %v", made)
	}
	patched := e.do("PATCH", "/tokens/"+id, updater, map[string]any{"metadata": map[string]string{"k": "v"}},
		"Content-Type", "application/merge-patch+json").expect(t, 200).json(t)
	got := e.do("GET", "/tokens/"+id, updater, nil).expect(t, 200).json(t)
	for _, m := range []map[string]any{patched, got} {
		if m["modified_by"] != updaterID || m["modified_at"] == nil {
			t.Fatalf("modified_by %v, modified_at %v; want %s and a time", m["modified_by"], m["modified_at"], updaterID)
		}
	}
}
