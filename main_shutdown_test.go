package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShutdownPastTimeoutIsCleanStop: SIGTERM while a proxied request waits on a destination that
// never answers. The drain runs out of time (timeouts.shutdown), the request is cut, and the
// process still stops cleanly: exit 0 and one line saying how many requests were cut.
func TestShutdownPastTimeoutIsCleanStop(t *testing.T) {
	withoutPostgres(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer dest.Close()
	defer close(release)

	cfg := filepath.Join(t.TempDir(), "sluice.yaml")
	os.WriteFile(cfg, []byte("timeouts:\n  shutdown: 1s\n  destination: 120s\n"), 0o600)
	env := []string{masterEnv(7), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + t.TempDir()}
	p := start(t, env, "--config", cfg, "--allow-private-destinations", "--allow-http-destinations")

	callerErr := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/proxy", strings.NewReader("x"))
		req.Header.Set("BT-API-KEY", adminKey)
		req.Header.Set("BT-PROXY-URL", dest.URL)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		callerErr <- err
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the request never reached the destination")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit after a cut drain: %v\n%s", err, p.output)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the edge did not stop\n%s", p.output)
	}
	if err := <-callerErr; err == nil {
		t.Fatal("the cut request got a whole answer")
	}
	out := p.output.String()
	if n := strings.Count(out, `"cut_requests":1`); n != 1 {
		t.Fatalf("%d lines with cut_requests 1:\n%s", n, out)
	}
	if strings.Contains(out, "deadline exceeded") {
		t.Fatalf("the drain's timeout surfaced as an error:\n%s", out)
	}
}
