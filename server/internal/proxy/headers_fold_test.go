package proxy

import (
	"bytes"
	"testing"
)

// FuzzEqualFoldASCII: for the ASCII names the edge matches headers against, equalFoldASCII
// agrees with bytes.EqualFold on any header name — Unicode look-alikes (the Kelvin sign, the
// long s), other lengths, bytes one bit away from a letter or '-'.
func FuzzEqualFoldASCII(f *testing.F) {
	for _, s := range []string{"keep-alive", "KEEP-ALIVE", "\u212aeep-Alive", "Tran\u017ffer-Encoding",
		"Content\rLength", "Content-Lengtj", "bt-trace-id", "BT_TRACE_ID", "", "Te", "t\x05", "@ost", "[ost"} {
		f.Add([]byte(s))
	}
	names := append(bytes.Fields([]byte("Content-Length Transfer-Encoding Bt-Proxy-Destination-Status")), hopByHopNames()...)
	f.Fuzz(func(t *testing.T, k []byte) {
		for _, name := range names {
			if got, want := equalFoldASCII(k, name), bytes.EqualFold(k, name) && len(k) == len(name); got != want {
				t.Fatalf("equalFoldASCII(%q, %q) = %v, bytes.EqualFold (same length) %v", k, name, got, want)
			}
		}
	})
}

func hopByHopNames() [][]byte {
	var all [][]byte
	for _, names := range hopByHop {
		all = append(all, names...)
	}
	return append(all, []byte("BT-TRACE-ID"))
}
