package proxy

import "testing"

// segmentsEscape is checkRestPath's verdict without its fast path: every segment walked.
func segmentsEscape(rest []byte) bool {
	for len(rest) > 0 {
		rest = rest[1:]
		end := 0
		for end < len(rest) && rest[end] != '/' {
			end++
		}
		if escapesBase(rest[:end]) {
			return true
		}
		rest = rest[end:]
	}
	return false
}

// FuzzCheckRestPathFastPathAgrees: a path skipped by the fast path (no '.', '%', '\' or ';') is
// one the segment walk also accepts, so the shortcut never lets a climbing path through.
func FuzzCheckRestPathFastPathAgrees(f *testing.F) {
	for _, s := range []string{"users/1", "a//b", "", "..;/a", "%2e%2e/a", "a\\b", "x;y", "é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rest := []byte("/" + s)
		if got, want := checkRestPath(rest) != nil, segmentsEscape(rest); got != want {
			t.Fatalf("checkRestPath(%q) refuses = %v, the segment walk says %v", rest, got, want)
		}
	})
}
