package proxy

import (
	"bytes"
	"strings"
	"testing"
)

// TestRepeatedNameInOtherCaseIsSeenAtEveryLength: a kept name that repeats in another case
// (x-a and X-A, of every length around the hash's eight-byte words) sends the strip to the
// copying path, so in-place deletion never reorders two values of one name.
func TestRepeatedNameInOtherCaseIsSeenAtEveryLength(t *testing.T) {
	for n := 1; n <= 25; n++ {
		name := []byte(strings.Repeat("x-ab", 7)[:n])
		var p namePlan
		p.add(name, false)
		p.add(bytes.ToUpper(name), false)
		if !p.spill {
			t.Fatalf("%q and its upper case, both kept: not seen as a repeat", name)
		}
	}
}

// TestDropResponseHeaderByName: the names dropped and kept, whatever their case.
func TestDropResponseHeaderByName(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop bool
	}{
		{"content-length", false}, {"TRANSFER-ENCODING", false}, {"Connection", true},
		{"bt-proxy-destination-status", true}, {"Keep-Alive", true}, {"Content-Type", false},
		{"Content-Lengthx", false}, {"X-Named", true}, {"Upgrade", true}, {"Te", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dropResponseHeader([]byte(tc.name), []byte("close, x-named")); got != tc.drop {
				t.Fatalf("dropResponseHeader(%q) = %v, want %v", tc.name, got, tc.drop)
			}
		})
	}
}
