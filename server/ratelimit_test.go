package server

import (
	"testing"
	"time"
)

// TestAnonymousRateLimit: the 51st anonymous call of a pre-configured proxy within 10 s gets 429
// with Retry-After; authenticated calls are not counted against it.
func TestAnonymousRateLimit(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	px := e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "open", "destination_url": dest.url, "require_auth": false}).expect(t, 201).json(t)
	key := px["key"].(string)
	for i := 0; i < 50; i++ {
		e.do("POST", "/proxy", "", "x", "BT-PROXY-KEY", key).expect(t, 200)
	}
	r := e.do("POST", "/proxy", "", "x", "BT-PROXY-KEY", key)
	r.expectProblem(t, 429, true)
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	e.do("POST", "/proxy", e.adminKey, "x", "BT-PROXY-KEY", key).expect(t, 200)
	if n := len(dest.requests()); n != 51 {
		t.Fatalf("%d requests reached the destination", n)
	}
}

func TestApplicationRateLimit(t *testing.T) {
	t.Parallel()
	e := startEdge(t, func(c *Config) { c.RateLimits.ApplicationRequests = 3; c.RateLimits.ApplicationWindow = time.Minute })
	k, _ := e.newApp("private", "token:create")
	for i := 0; i < 3; i++ {
		e.do("POST", "/tokens", k, map[string]any{"data": i}).expect(t, 201)
	}
	e.do("POST", "/tokens", k, map[string]any{"data": 4}).expectProblem(t, 429, false)
}
