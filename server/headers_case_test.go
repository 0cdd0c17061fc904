package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestHopHeadersInAnyCaseAreStripped: the hygiene looks names up in fasthttp's canonical form
// without re-canonicalizing them, so a caller writing them in odd case must still lose every
// BT-* header and every header its Connection header names, get its BT-PROXY-KEEP-ALIVE mapped,
// and its own X-Request-Id echoed.
func TestHopHeadersInAnyCaseAreStripped(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /proxy/echo HTTP/1.1\r\nhost: x\r\ncONNECTION: x-hop, X-OTHER\r\nX-HOP: 1\r\nx-other: 2\r\nx-keep: 3\r\n"+
		"bt-proxy-keep-alive: timeout=7\r\nbt-api-key: %s\r\nbT-pRoXy-UrL: %s\r\nx-request-id: odd-case-id\r\n"+
		"content-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}", e.adminKey, dest.url)
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := r.Header.Get("X-Request-Id"); got != "odd-case-id" {
		t.Fatalf("X-Request-Id %q", got)
	}
	got := dest.last(t).header
	for name := range got {
		if strings.HasPrefix(strings.ToLower(name), "bt-") || strings.EqualFold(name, "X-Hop") || strings.EqualFold(name, "X-Other") {
			t.Errorf("%s reached the destination", name)
		}
	}
	if got.Get("Keep-Alive") != "timeout=7" || got.Get("X-Keep") != "3" {
		t.Fatalf("destination headers %v", got)
	}
}
