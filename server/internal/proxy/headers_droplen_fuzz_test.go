package proxy

import (
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// FuzzDropResponseHeaderLengthFilter: the length filter in front of dropResponseHeader never
// keeps a name that the full comparison drops (or the other way round), with or without a
// Connection list, for the hop-by-hop names in any case, their neighbours by one byte and any
// other name.
func FuzzDropResponseHeaderLengthFilter(f *testing.F) {
	for _, names := range hopByHop {
		for _, h := range names {
			f.Add(string(h), "")
			f.Add(strings.ToLower(string(h)), "")
			f.Add(string(h)+"x", "")
			f.Add(string(h[1:]), "")
		}
	}
	for _, s := range []string{edge.HeaderDestinationStatus, "bt-proxy-destination-status", "Date", "Content-Type",
		"Server", "X-Named", "Content-Length", "TRANSFER-ENCODING", "", strings.Repeat("k", 70)} {
		f.Add(s, "")
		f.Add(s, "close, x-named")
	}
	f.Fuzz(func(t *testing.T, name, conn string) {
		k, c := []byte(name), []byte(conn)
		if got, want := dropResponseHeader(k, c), dropResponseHeaderAny(k, c); got != want {
			t.Fatalf("dropResponseHeader(%q, %q) = %v, the full comparison says %v", name, conn, got, want)
		}
	})
}
