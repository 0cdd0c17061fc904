package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// TestCanonicalNamesMatchHowFasthttpStoresThem: a header sent in upper case (as clients send
// BT-API-KEY) is found by PeekCanonical under each name, and a value set with SetCanonical is
// found by any spelling; a name not in fasthttp's canonical form would silently find nothing.
func TestCanonicalNamesMatchHowFasthttpStoresThem(t *testing.T) {
	names := [][]byte{nameConnection, nameKeepAlive, nameBTProxyKeepAlive, nameBTProxyConnection, edge.NameRequestID,
		edge.NameBTAPIKey, edge.NameFootprintKey, nameBTProxyKey, nameBTProxyURL, nameBTEncrypted, nameDestinationStatus}
	for _, name := range names {
		t.Run(string(name), func(t *testing.T) {
			var req fasthttp.Request
			raw := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.ToUpper(string(name)) + ": v1\r\n\r\n"
			if err := req.Header.Read(bufioReader(raw)); err != nil {
				t.Fatal(err)
			}
			if got := string(req.Header.PeekCanonical(name)); got != "v1" {
				t.Fatalf("PeekCanonical(%s) = %q after parsing %q", name, got, strings.ToUpper(string(name)))
			}
			var resp fasthttp.ResponseHeader
			resp.SetCanonical(name, []byte("v2"))
			if got := string(resp.Peek(strings.ToLower(string(name)))); got != "v2" {
				t.Fatalf("SetCanonical(%s) not found by its lower-case name: %q", name, got)
			}
		})
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
