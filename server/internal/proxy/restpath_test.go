package proxy

import (
	"strings"
	"testing"
)

// lenientDepth resolves rest as the most lenient destination might: percent-decoded twice,
// backslashes as slashes, each segment cut at ';', dot segments resolved. It reports whether
// the path ever climbs above where it started.
func lenientEscapes(rest string) bool {
	p := lenientUnescape(lenientUnescape(rest))
	p = strings.ReplaceAll(p, "\\", "/")
	depth := 0
	for _, seg := range strings.Split(p, "/") {
		seg, _, _ = strings.Cut(seg, ";")
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// lenientUnescape decodes every valid %XX and leaves the rest as it is.
func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if d, ok := unhex2([]byte(s[i+1:])); s[i] == '%' && ok {
			b.WriteByte(d)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestCheckRestPath(t *testing.T) {
	for _, tc := range []struct {
		rest string
		ok   bool
	}{
		{"", true},
		{"/", true},
		{"/users/1", true},
		{"/a..b/c.d/...", true},
		{"/name%20x/%41;v=1", true},
		{"/..", false},
		{"/.", false},
		{"/..;", false},
		{"/..;/admin", false},
		{"/.;x/admin", false},
		{"/%2e%2e/admin", false},
		{"/%2E./admin", false},
		{"/..%2fadmin", false},
		{"/..%5Cadmin", false},
		{"/..\\admin", false},
		{"/%252e%252e/admin", false},
		{"/%2%65%2%65/admin", false},
		{"/..%253b/admin", false},
		{"/a;%252f..%252f/b", false},
	} {
		t.Run(tc.rest, func(t *testing.T) {
			if err := checkRestPath([]byte(tc.rest)); (err == nil) != tc.ok {
				t.Fatalf("checkRestPath(%q) = %v, want ok %v", tc.rest, err, tc.ok)
			}
		})
	}
}

func TestCheckRestPathAllocs(t *testing.T) {
	rest := []byte("/api/users/%2e%2e;x/name%20x")
	if n := testing.AllocsPerRun(100, func() { checkRestPath(rest) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzCheckRestPath: a path checkRestPath accepts never climbs above the base, however
// leniently the destination resolves it.
func FuzzCheckRestPath(f *testing.F) {
	for _, s := range []string{"users/1", "..;/a", "%2e%2e/a", "%252e%252e/a", "a/..%5c..", "%2%65.", ".%00.", "..%253b", "a;%252f..%252f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rest := "/" + s
		if checkRestPath([]byte(rest)) == nil && lenientEscapes(rest) {
			t.Fatalf("accepted %q, which climbs above the base", rest)
		}
	})
}
