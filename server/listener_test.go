package server

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// TestRefuseConnectionsOverCaps: with limits.max_connections_per_ip (or max_connections), a
// client holding its share gets a 503 problem for the next connection; once it lets one go, it
// is served again.
func TestRefuseConnectionsOverCaps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"per ip", func(c *Config) { c.Limits.MaxConnectionsPerIP = 2 }},
		{"total", func(c *Config) { c.Limits.MaxConnections = 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEdge(t, tc.mod)
			addr := strings.TrimPrefix(e.base, "http://")
			var held []net.Conn
			for range 2 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				held = append(held, c)
			}
			over, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer over.Close()
			over.SetReadDeadline(time.Now().Add(30 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(over), nil)
			if err != nil {
				t.Fatalf("no refusal: %v", err)
			}
			var p edge.Problem
			if json.NewDecoder(res.Body).Decode(&p) != nil || res.StatusCode != 503 || p.Status != 503 {
				t.Fatalf("refusal: %d %+v", res.StatusCode, p)
			}
			held[0].Close()
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if st, err := httpGet(e.base + "/healthz-unknown"); err == nil && st == 404 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("not served again after a connection closed")
				}
			}
		})
	}
}
