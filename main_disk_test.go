package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// mountSmallFS mounts a tmpfs of size bytes for the test, or skips it when that is not
// possible (not root, no mount(8)).
func mountSmallFS(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (run as root to test a full disk)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// writeBallast writes n bytes (n < 0: until the file system is full) to path.
func writeBallast(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{0xa5}, 1<<20)
	for written := int64(0); n < 0 || written < n; written += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			if n < 0 && errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// rawPost sends a JSON body and returns the whole answer; err when there is none (the process
// died).
func (p *proc) rawPost(path, key string, body []byte, hdr ...string) (*http.Response, []byte, error) {
	req, _ := http.NewRequest("POST", "http://"+p.addr+path, bytes.NewReader(body))
	req.Header.Set("BT-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("POST %s: %w (the process died?)", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func (p *proc) readyz(t *testing.T) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + p.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// checkDiskLow asserts a 503 answer for a full disk: RFC 7807 (wrapped in proxy_error on
// proxy routes), Retry-After, and no plaintext.
func checkDiskLow(t *testing.T, what string, res *http.Response, body []byte, wrapped bool) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	var w struct {
		ProxyError *json.RawMessage `json:"proxy_error"`
	}
	raw := body
	if wrapped {
		if json.Unmarshal(body, &w) != nil || w.ProxyError == nil {
			t.Fatalf("%s: not a proxy_error: %d %s", what, res.StatusCode, body)
		}
		raw = *w.ProxyError
	}
	if res.StatusCode != 503 || json.Unmarshal(raw, &p) != nil || p.Status != 503 || !strings.Contains(p.Detail, "disk") {
		t.Fatalf("%s: %d %s", what, res.StatusCode, body)
	}
	if res.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: 503 without Retry-After", what)
	}
}

// TestFullDiskRefusesWritesThenRecovers: on a small file system, token creations are answered
// 201 until the free space reaches the reserve, then 503 (never a crash: Badger's mapped files
// fault with SIGBUS on a full disk); detokenizations on the API and the proxy get 503 too and
// reach no destination; /readyz says why. Once space is freed, writes resume without a restart,
// and every token answered 201 is intact, before and after kill -9. A start on a full disk
// fails with a clear message and exit code 1.
func TestFullDiskRefusesWritesThenRecovers(t *testing.T) {
	withoutPostgres(t)
	mnt := mountSmallFS(t, 256<<20)
	dataDir := filepath.Join(mnt, "data")
	ballast := filepath.Join(mnt, "ballast")
	// The edge runs with 1 MiB memtables, and the ballast leaves room for about 4 MiB of tokens
	// over the 80 MiB reserve and Badger's files: several memtables (so flushes run on the
	// shrinking disk), few enough that reading every acknowledged token back twice stays cheap.
	const memtable = 1 << 20
	writeBallast(t, ballast, 108<<20)
	conf := filepath.Join(t.TempDir(), "sluice.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf("storage:\n  reserve_bytes: %d\n  memtable_bytes: %d\n", 80<<20, memtable)), 0o600)
	env := []string{masterEnv(7), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dataDir, "SLUICE_CONFIG=" + conf}
	var forwarded atomic.Int64
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { forwarded.Add(1) }))
	defer dest.Close()
	p := start(t, env, "--allow-private-destinations", "--allow-http-destinations")

	// A reveal first: the audit journal's segment is allocated while there is room.
	_, first := p.post(t, "/tokens", adminKey, map[string]any{"data": "first"})
	firstID := first["id"].(string)
	if st, _ := p.get(t, "/tokens/"+firstID, adminKey); st != 200 {
		t.Fatalf("reveal: %d", st)
	}

	type acked struct{ id, data string }
	var mu sync.Mutex
	var tokens []acked
	var refused atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				data := fmt.Sprintf("w%d-%d-%s", w, i, strings.Repeat("d", 64<<10))
				body, _ := json.Marshal(map[string]any{"data": data})
				res, b, err := p.rawPost("/tokens", adminKey, body)
				if err != nil {
					t.Error(err)
					return
				}
				switch res.StatusCode {
				case 201:
					var m map[string]any
					json.Unmarshal(b, &m)
					mu.Lock()
					tokens = append(tokens, acked{m["id"].(string), data})
					mu.Unlock()
				case 503:
					if res.Header.Get("Retry-After") == "" || !bytes.Contains(b, []byte(`"status":503`)) {
						t.Errorf("create on a full disk: 503 without Retry-After or problem: %s", b)
					}
					refused.Add(1)
					return
				default:
					t.Errorf("create: %d %.200s", res.StatusCode, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() || refused.Load() != 4 {
		t.Fatalf("%d creates refused, %d acknowledged: the disk never got low", refused.Load(), len(tokens))
	}
	tables, _ := filepath.Glob(filepath.Join(dataDir, "*.sst"))
	t.Logf("%d tokens acknowledged before the reserve was reached, %d tables flushed", len(tokens), len(tables))
	if int64(len(tokens))<<16 <= memtable || len(tables) == 0 {
		t.Fatalf("%d tokens of 64 KiB acknowledged, %d tables flushed: no %d-byte memtable flushed before the reserve", len(tokens), len(tables), memtable)
	}
	if st, why := p.readyz(t); st != 503 || !strings.Contains(why, "below the reserve") {
		t.Fatalf("/readyz on a full disk: %d %s", st, why)
	}
	res, b, err := p.rawPost("/proxy", adminKey, []byte(`{"x":"{{ `+firstID+` }}"}`), "BT-PROXY-URL", dest.URL)
	if err != nil {
		t.Fatal(err)
	}
	checkDiskLow(t, "proxy detokenization on a full disk", res, b, true)
	if forwarded.Load() != 0 {
		t.Fatal("a detokenized request was forwarded without its audit record")
	}
	req, _ := http.NewRequest("GET", "http://"+p.addr+"/tokens/"+firstID, nil)
	req.Header.Set("BT-API-KEY", adminKey)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	checkDiskLow(t, "reveal on a full disk", res, b, false)
	if bytes.Contains(b, []byte("first")) {
		t.Fatal("the refused reveal carried the plaintext")
	}

	os.Remove(ballast) // space freed: no restart
	if st, m := p.post(t, "/tokens", adminKey, map[string]any{"data": "after"}); st != 201 {
		t.Fatalf("create once space is back: %d %v", st, m)
	}
	deadline := time.Now().Add(20 * time.Second)
	for st, _ := p.readyz(t); st != 200; st, _ = p.readyz(t) {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after space was freed", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res, b, err := p.rawPost("/proxy", adminKey, []byte(`{"x":"{{ `+firstID+` }}"}`), "BT-PROXY-URL", dest.URL); err != nil || res.StatusCode != 200 || forwarded.Load() != 1 {
		t.Fatalf("proxy once space is back: %v %s", err, b)
	}
	checkAll := func(p *proc) {
		t.Helper()
		for _, tok := range tokens {
			if st, m := p.get(t, "/tokens/"+tok.id, adminKey); st != 200 || m["data"] != tok.data {
				_, why := p.readyz(t)
				t.Fatalf("acknowledged token %s: %d %v (readyz: %s)", tok.id, st, m["detail"], why)
			}
		}
	}
	checkAll(p)
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.done <- nil
	p2 := start(t, env)
	checkAll(p2)
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p2.done; err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p2.output)
	}
	p2.done <- nil

	writeBallast(t, ballast, -1) // now the disk is full
	cmd := exec.Command(binPath, "serve", "--listen", freePort(t), "--admin-listen", freePort(t))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("start on a full disk: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "below the reserve") || strings.Contains(string(out), "SIGBUS") {
		t.Fatalf("start on a full disk, unclear message:\n%s", out)
	}
}
