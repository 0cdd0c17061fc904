package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRejectBodyCutShortIsNotForwarded: a caller that announces a body bigger than what fasthttp
// reads ahead with the headers (8 KiB) and hangs up halfway gets no request forwarded in its
// name — neither the half it sent nor a read error's text in place of the body (fasthttp's
// Request.Body answers a failed stream's error text as the body).
func TestRejectBodyCutShortIsNotForwarded(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	for _, tc := range []struct {
		name       string
		announced  int
		sent       int
		configured bool
	}{
		{name: "ephemeral, 20 KB announced, 12 KB sent", announced: 20 << 10, sent: 12 << 10},
		{name: "ephemeral, 60 KB announced, 9 KB sent", announced: 60 << 10, sent: 9 << 10},
		{name: "configured proxy, 30 KB announced, 16 KB sent", announced: 30 << 10, sent: 16 << 10, configured: true},
		{name: "ephemeral, 200 KB announced, 100 KB sent", announced: 200 << 10, sent: 100 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(dest.requests())
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			route := "BT-PROXY-URL: " + dest.url
			if tc.configured {
				px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "cut", "destination_url": dest.url}).expect(t, 201).json(t)
				route = "BT-PROXY-KEY: " + px["key"].(string)
			}
			lines := strings.Count(e.logText(), `"route":"/proxy",`)
			fmt.Fprintf(conn, "POST /proxy/count HTTP/1.1\r\nHost: x\r\nBT-API-KEY: %s\r\n%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
				e.adminKey, route, tc.announced)
			conn.Write([]byte(`{"a":"` + strings.Repeat("x", tc.sent-6)))
			conn.(*net.TCPConn).CloseWrite()
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			if r, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
				io.ReadAll(r.Body)
				if r.StatusCode < 400 {
					t.Fatalf("a body cut short was answered %d", r.StatusCode)
				}
			}
			// The edge's request line is written when the request ends: by then anything
			// forwarded has reached the destination.
			for deadline := time.Now().Add(20 * time.Second); strings.Count(e.logText(), `"route":"/proxy",`) == lines; {
				if time.Now().After(deadline) {
					t.Fatal("no request line for the request cut short")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := dest.requests()[before:]; len(got) > 0 {
				t.Fatalf("%d request(s) forwarded for a body cut short (%d bytes)", len(got), len(got[0].body))
			}
		})
	}
}
