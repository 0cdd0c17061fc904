package server

import (
	"strings"
	"testing"
)

// TestRouteWithTwoParametersAndFixedSegmentFirst: "/applications/key" is the fixed route, not an
// application named "key"; the key routes bind both parameters; extra or empty segments match
// nothing.
func TestRouteWithTwoParametersAndFixedSegmentFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path, pattern, id, sub string
	}{
		{"GET", "/applications/key", "/applications/key", "", ""},
		{"PUT", "/applications/key", "/applications/{id}", "key", ""},
		{"GET", "/applications/a1/keys", "/applications/{id}/keys", "a1", ""},
		{"DELETE", "/applications/a1/keys/k2", "/applications/{id}/keys/{keyId}", "a1", "k2"},
		{"GET", "/applications/a1/keys/k2/", "/applications/{id}/keys/{keyId}", "a1", "k2"},
		{"GET", "/applications/a1/keys/k2/x", "", "", ""},
		{"GET", "/applications//keys/k2", "", "", ""},
		{"GET", "/applications/a1/keys//", "", "", ""},
		{"GET", "/logs/entity-types", "/logs/entity-types", "", ""},
		{"GET", "/permissions", "/permissions", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r, args, _ := match(tt.method, []byte(tt.path))
			got := ""
			if r != nil {
				got = r.pattern
			}
			if got != tt.pattern || args[0] != tt.id || args[1] != tt.sub {
				t.Fatalf("got %q %q", got, args)
			}
		})
	}
}

// FuzzRouteMatch: whatever the path, match does not panic, and a match binds non-empty
// parameters without "/" that rebuild the path from the pattern.
func FuzzRouteMatch(f *testing.F) {
	for _, s := range []string{"/applications/a/keys/b", "/applications/key", "//", "/tokens/{id}", "/applications/a/keys/", "/reactors/x/react", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, args, _ := match("GET", []byte(path))
		if r == nil {
			return
		}
		segs, n := strings.Split(r.pattern, "/"), 0
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				a := args[n]
				if a == "" || strings.Contains(a, "/") {
					t.Fatalf("%q: parameter %d is %q", path, n, a)
				}
				segs[i] = a
				n++
			}
		}
		if rebuilt := strings.Join(segs, "/"); rebuilt != strings.TrimSuffix(path, "/") {
			t.Fatalf("%q matched %s with %q", path, r.pattern, args)
		}
	})
}
