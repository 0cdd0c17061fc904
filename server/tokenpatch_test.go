package server

import (
	"reflect"
	"testing"
)

// TestPatchTokenMetadataIsMergePatch: PATCH /tokens/{id} merges metadata key by key, a null
// removes a key, a null metadata removes all, and a body without metadata leaves it alone.
func TestPatchTokenMetadataIsMergePatch(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	cases := []struct {
		name  string
		patch string
		want  map[string]any
	}{
		{"keys merge and null removes", `{"metadata":{"change":"new","drop":null,"add":"a"}}`,
			map[string]any{"keep": "k", "change": "new", "add": "a"}},
		{"an empty string is a value, not a removal", `{"metadata":{"drop":""}}`,
			map[string]any{"keep": "k", "drop": "", "change": "old"}},
		{"no metadata leaves it", `{"data":"new data"}`,
			map[string]any{"keep": "k", "drop": "d", "change": "old"}},
		{"null metadata removes all", `{"metadata":null}`, map[string]any{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := e.token(e.adminKey, map[string]any{"type": "token", "data": "patched",
				"metadata": map[string]string{"keep": "k", "drop": "d", "change": "old"}})
			up := e.do("PATCH", "/tokens/"+id, e.adminKey, tc.patch, "Content-Type", "application/merge-patch+json").expect(t, 200).json(t)
			if !reflect.DeepEqual(up["metadata"], tc.want) {
				t.Fatalf("answered metadata %v, want %v", up["metadata"], tc.want)
			}
			got := e.do("GET", "/tokens/"+id, e.adminKey, nil).expect(t, 200).json(t)
			if !reflect.DeepEqual(got["metadata"], tc.want) {
				t.Fatalf("stored metadata %v, want %v", got["metadata"], tc.want)
			}
		})
	}
}

// TestPatchTokenMetadataRefusesNonStrings: a metadata patch that is not an object of strings
// (or nulls) is a 400 naming metadata, and changes nothing.
func TestPatchTokenMetadataRefusesNonStrings(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	id := e.token(e.adminKey, map[string]any{"type": "token", "data": "x", "metadata": map[string]string{"a": "1"}})
	for _, patch := range []string{`{"metadata":{"a":1}}`, `{"metadata":"a"}`, `{"metadata":[null]}`} {
		p := e.do("PATCH", "/tokens/"+id, e.adminKey, patch).expectProblem(t, 400, false)
		if _, ok := p["errors"].(map[string]any)["metadata"]; !ok {
			t.Fatalf("%s: the problem does not name metadata: %v", patch, p)
		}
	}
	got := e.do("GET", "/tokens/"+id, e.adminKey, nil).expect(t, 200).json(t)
	if !reflect.DeepEqual(got["metadata"], map[string]any{"a": "1"}) {
		t.Fatalf("metadata %v after refused patches", got["metadata"])
	}
}
