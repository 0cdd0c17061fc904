package obs

import (
	"strconv"
	"testing"
)

// TestNewRequestIDIsPrefixAndCounterInHex: an id is 24 lower-case hex digits, the process's
// prefix then the counter, so consecutive ids share the prefix and count up by one.
func TestNewRequestIDIsPrefixAndCounterInHex(t *testing.T) {
	var a, b [24]byte
	NewRequestID(&a)
	NewRequestID(&b)
	if string(a[:12]) != string(b[:12]) || string(a[:12]) != string(requestIDPrefix[:]) {
		t.Fatalf("prefixes %q and %q, want %q", a[:12], b[:12], requestIDPrefix[:])
	}
	for _, id := range [][24]byte{a, b} {
		for _, c := range id {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				t.Fatalf("%q is not lower-case hex", id[:])
			}
		}
	}
	na, _ := strconv.ParseUint(string(a[12:]), 16, 64)
	nb, _ := strconv.ParseUint(string(b[12:]), 16, 64)
	if nb != na+1 {
		t.Fatalf("counters %q then %q", a[12:], b[12:])
	}
}
