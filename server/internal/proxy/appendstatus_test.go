package proxy

import (
	"strconv"
	"testing"
)

// TestAppendStatusMatchesStrconv: BT-PROXY-DESTINATION-STATUS's value is strconv's text for
// every status, the three-digit ones and the out-of-range ones a destination could send.
func TestAppendStatusMatchesStrconv(t *testing.T) {
	for status := -1000; status <= 100000; status++ {
		if got, want := appendStatus(nil, status), strconv.Itoa(status); string(got) != want {
			t.Fatalf("appendStatus(%d) = %q, want %q", status, got, want)
		}
	}
}
