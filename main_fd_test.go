//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fdLimit is the open-file limit (soft and hard) the fd tests run the edge under.
const fdLimit = "256"

// startFDLimited runs the edge under a shell that lowers the open-file limit, with yaml as its
// config file.
func startFDLimited(t *testing.T, yaml string) *proc {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh to lower the open-file limit")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max < 256 {
		t.Skipf("needs a hard open-file limit of at least %s", fdLimit)
	}
	cfg := filepath.Join(t.TempDir(), "sluice.yaml")
	os.WriteFile(cfg, []byte(yaml), 0o600)
	env := []string{masterEnv(6), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + t.TempDir()}
	return startVia(t, []string{"/bin/sh", "-c", `ulimit -n ` + fdLimit + ` && exec "$0" "$@"`}, env,
		"--config", cfg, "--allow-private-destinations", "--allow-http-destinations")
}

// httpDestination answers every request 200 "dest ok".
func httpDestination(t *testing.T) string {
	d := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("dest ok")) }))
	t.Cleanup(d.Close)
	return d.URL
}

// eventually retries f until it holds or a generous bound passes.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answersAfter checks what must hold once the connections are gone: the process runs, /healthz
// and a proxied request answer.
func (p *proc) answersAfter(t *testing.T, dest string) {
	t.Helper()
	eventually(t, "/healthz", func() bool {
		res, err := http.Get("http://" + p.admin + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == 200
	})
	eventually(t, "a proxied request", func() bool {
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/proxy", strings.NewReader("x"))
		req.Header.Set("BT-API-KEY", adminKey)
		req.Header.Set("BT-PROXY-URL", dest)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("the edge exited: %v\n%s", err, p.output)
	default:
	}
}

// TestSurvivesFDExhaustion: idle connections that use up every descriptor of the process make
// accept fail with EMFILE; the edge waits and keeps serving instead of exiting.
func TestSurvivesFDExhaustion(t *testing.T) {
	withoutPostgres(t)
	dest := httpDestination(t)
	// A connection cap above the descriptor limit: the limit itself is what runs out.
	p := startFDLimited(t, "limits:\n  max_connections: 100000\n")
	const warn = "out of file descriptors"
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for len(conns) < 4000 && !strings.Contains(p.output.String(), warn) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		if len(conns)%50 == 0 {
			time.Sleep(50 * time.Millisecond) // let the edge accept what is queued
		}
	}
	eventually(t, "the edge reaching its descriptor limit", func() bool { return strings.Contains(p.output.String(), warn) })
	t.Logf("descriptor limit reached after %d connections", len(conns))
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	p.answersAfter(t, dest)
}

// TestRefuseConnectionsOverCap: with the cap derived from a low descriptor limit, connections
// over it get a 503 problem and are closed, descriptors never run out, and /healthz answers
// while the others are held.
func TestRefuseConnectionsOverCap(t *testing.T) {
	withoutPostgres(t)
	dest := httpDestination(t)
	p := startFDLimited(t, "log_level: info\n")
	eventually(t, "the cap derived from the limit "+fdLimit, func() bool {
		return strings.Contains(p.output.String(), `"max_connections":32`)
	})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 32 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The next ones are over the cap. (Under the cap a connection with no request gets no answer.)
	refused := 0
	for range 40 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			var pb struct{ Status int }
			if json.NewDecoder(res.Body).Decode(&pb) != nil || res.StatusCode != 503 || pb.Status != 503 ||
				res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("refusal: %d %v %+v", res.StatusCode, res.Header, pb)
			}
			refused++
		}
		c.Close()
	}
	if refused == 0 {
		t.Fatal("no connection over the cap was refused with a 503")
	}
	if st, err := http.Get("http://" + p.admin + "/healthz"); err != nil || st.StatusCode != 200 {
		t.Fatalf("/healthz while the cap is reached: %v", err)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	p.answersAfter(t, dest)
	if strings.Contains(p.output.String(), "out of file descriptors") {
		t.Fatal("the cap let descriptors run out")
	}
}
