package server

import (
	"net/url"
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

// FuzzRouteMatch: whatever the path, match does not panic, and a match binds parameters that are
// the path's own segments (split as sent), each non-empty and percent-decoded exactly once.
func FuzzRouteMatch(f *testing.F) {
	for _, s := range []string{"/applications/a/keys/b", "/applications/key", "//", "/tokens/{id}", "/applications/a/keys/", "/reactors/x/react", "",
		"/tokens/a%2Fb", "/tokens/x%2F..%2F..%2Fapplications", "/tokens/a%2541b", "/tokens/%zz", "/tokens/cust.42%40acme/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, args, _ := match("GET", []byte(path))
		if r == nil {
			return
		}
		psegs, segs, n := strings.Split(r.pattern, "/"), strings.Split(strings.TrimSuffix(path, "/"), "/"), 0
		if len(psegs) != len(segs) {
			t.Fatalf("%q matched %s with %d segments", path, r.pattern, len(segs))
		}
		for i, pseg := range psegs {
			if !strings.HasPrefix(pseg, "{") {
				if segs[i] != pseg {
					t.Fatalf("%q matched %s", path, r.pattern)
				}
				continue
			}
			if want, err := url.PathUnescape(segs[i]); args[n] == "" || err != nil || args[n] != want {
				t.Fatalf("%q: parameter %d is %q, segment %q", path, n, args[n], segs[i])
			}
			n++
		}
	})
}
