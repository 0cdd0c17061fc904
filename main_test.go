package main

// Tests of the sluice binary as a process: durability across kill -9, the wrong master key,
// dev mode, graceful shutdown. They build the binary once.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/internal/privdir"
	"github.com/sluice-edge/sluice/store/storetest"
)

var binPath string

func TestMain(m *testing.M) {
	// Parallel tests are gated by withoutPostgres, not by -parallel: the test that freezes
	// PostgreSQL must find a slot at once, whatever order the parallel tests are released in.
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", "64")
	}
	bin, cleanup, err := buildSluice()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bin
	code := storetest.PostgresRun(m) // stops the throwaway PostgreSQL of main_nodes_test.go
	cleanup()
	os.Exit(code)
}

// buildSluice builds the binary into a directory kept between runs (one per checkout): go build
// leaves an output that is up to date with the sources as it is, and linking costs seconds of
// CPU, so a run after no change to the binary's packages links nothing. When the shared
// directory of binaries is not this user's alone (another user could swap the binary the tests
// run), it builds into a directory of this run, removed by cleanup.
func buildSluice() (bin string, cleanup func(), err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256([]byte(wd))
	root := filepath.Join(os.TempDir(), "sluice-testbin")
	dir := filepath.Join(root, hex.EncodeToString(sum[:8]))
	cleanup = func() {}
	if privdir.Make(root) != nil {
		if dir, err = os.MkdirTemp("", "sluice-bin"); err != nil {
			return "", nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, cleanup, nil
}

// postgresFree holds a slot per running test that uses no PostgreSQL.
var postgresFree = make(chan struct{}, 1)

// withoutPostgres runs t, a test that uses no PostgreSQL, in parallel: the tests of the shared
// PostgreSQL cluster run first, one after another, then these, one at a time, beside
// TestDatabaseHungNodesAnswerNotHang, which freezes the cluster and mostly waits.
func withoutPostgres(t *testing.T) {
	t.Parallel()
	postgresFree <- struct{}{}
	t.Cleanup(func() { <-postgresFree })
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type proc struct {
	cmd    *exec.Cmd
	addr   string
	admin  string
	output *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs `sluice serve` with env and args and waits until /readyz answers.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startVia(t, nil, env, args...)
}

// startVia is start with the binary run through a wrapper command (wrap's arguments, then the
// binary and its own).
func startVia(t *testing.T, wrap []string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{addr: freePort(t), admin: freePort(t), output: &lockedBuffer{}, done: make(chan error, 1)}
	argv := append(append(wrap, binPath, "serve", "--listen", p.addr, "--admin-listen", p.admin), args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + p.admin + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("sluice exited: %v\n%s", err, p.output)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("sluice not ready\n%s", p.output)
	return nil
}

func (p *proc) post(t *testing.T, path, key string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+p.addr+path, bytes.NewReader(b))
	req.Header.Set("BT-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

func (p *proc) get(t *testing.T, path, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+p.addr+path, nil)
	req.Header.Set("BT-API-KEY", key)
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (int, map[string]any) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return res.StatusCode, m
}

const adminKey = "key_process_test_admin_key_0123456789"

func masterEnv(b byte) string {
	return "SLUICE_MASTER_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// TestDurabilityAfterKill9: N token creations answered 201, then SIGKILL; after a restart all N
// are readable.
func TestDurabilityAfterKill9(t *testing.T) {
	withoutPostgres(t)
	dir := t.TempDir()
	env := []string{masterEnv(1), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dir}
	p := start(t, env)
	const n = 50
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		st, m := p.post(t, "/tokens", adminKey, map[string]any{"type": "card_number", "data": "4242424242424242", "metadata": map[string]string{"i": fmt.Sprint(i)}})
		if st != 201 {
			t.Fatalf("create %d: %d %v", i, st, m)
		}
		ids = append(ids, m["id"].(string))
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.done <- nil
	p2 := start(t, env)
	for i, id := range ids {
		st, m := p2.get(t, "/tokens/"+id, adminKey)
		if st != 200 || m["data"] != "4242424242424242" || m["metadata"].(map[string]any)["i"] != fmt.Sprint(i) {
			t.Fatalf("token %d after kill -9: %d %v", i, st, m)
		}
	}
}

// TestWrongMasterKeyRefusesToStart: clear message, exit code != 0, and the right key still works.
func TestWrongMasterKeyRefusesToStart(t *testing.T) {
	withoutPostgres(t)
	dir := t.TempDir()
	env := []string{masterEnv(1), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dir}
	p := start(t, env)
	_, m := p.post(t, "/tokens", adminKey, map[string]any{"data": "keep me"})
	id := m["id"].(string)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Fatalf("SIGTERM exit: %v", err)
	}
	p.done <- nil

	cmd := exec.Command(binPath, "serve", "--listen", freePort(t), "--admin-listen", freePort(t))
	cmd.Env = append(os.Environ(), masterEnv(2), "SLUICE_DATA_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("wrong key: err=%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "master key does not open the data directory") {
		t.Fatalf("unclear message: %s", out)
	}
	p2 := start(t, env)
	if st, m := p2.get(t, "/tokens/"+id, adminKey); st != 200 || m["data"] != "keep me" {
		t.Fatalf("right key after wrong key: %d %v", st, m)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

func TestMissingMasterKey(t *testing.T) {
	withoutPostgres(t)
	cmd := exec.Command(binPath, "serve", "--data-dir", t.TempDir())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "master key is required") {
		t.Fatalf("err=%v out=%s", err, out)
	}
}

// TestDevModeReusesKeys: --dev creates the dev master key and admin key once, prints the admin key
// once, and reuses both on the next start.
func TestDevModeReusesKeys(t *testing.T) {
	withoutPostgres(t)
	dir := t.TempDir()
	p := start(t, []string{"SLUICE_MASTER_KEY=", "SLUICE_ADMIN_KEY="}, "--dev", "--data-dir", dir)
	key, err := os.ReadFile(filepath.Join(dir, "dev-admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	k := strings.TrimSpace(string(key))
	if !strings.Contains(p.output.String(), k) {
		t.Fatal("first start did not print the dev admin key")
	}
	st, m := p.post(t, "/tokens", k, map[string]any{"data": "dev"})
	if st != 201 {
		t.Fatalf("%d %v", st, m)
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	<-p.done
	p.done <- nil
	p2 := start(t, []string{"SLUICE_DEV=1", "SLUICE_MASTER_KEY=", "SLUICE_ADMIN_KEY="}, "--data-dir", dir)
	if strings.Contains(p2.output.String(), k) {
		t.Fatal("second start printed the admin key again")
	}
	if st, _ := p2.get(t, "/tokens/"+m["id"].(string), k); st != 200 {
		t.Fatalf("dev key not reused: %d", st)
	}
}

func TestVersion(t *testing.T) {
	withoutPostgres(t)
	out, err := exec.Command(binPath, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sluice ") {
		t.Fatalf("%v %s", err, out)
	}
}

// TestProcessLogHasNoSecrets runs a session through the binary and scans everything it printed.
func TestProcessLogHasNoSecrets(t *testing.T) {
	withoutPostgres(t)
	env := []string{masterEnv(3), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + t.TempDir()}
	p := start(t, env)
	st, app := p.post(t, "/applications", adminKey, map[string]any{"name": "a", "type": "private", "permissions": []string{"token:create", "token:reveal"}})
	if st != 201 {
		t.Fatal(st)
	}
	appKey := app["key"].(string)
	secret := "5105105105105100"
	_, tok := p.post(t, "/tokens", appKey, map[string]any{"type": "card_number", "data": secret})
	p.get(t, "/tokens/"+tok["id"].(string), appKey)
	p.post(t, "/tokens", appKey, map[string]any{"type": "card_number", "data": "5105105105105101"}) // invalid: 400
	p.get(t, "/tokens/x", "key_wrong_"+secret)                                                      // 401 with a secret in the key
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	p.done <- nil
	out := p.output.String()
	for _, s := range []string{secret, "5105105105105101", adminKey, appKey} {
		if strings.Contains(out, s) {
			t.Fatalf("process output contains a secret (%d bytes)", len(s))
		}
	}
	if !strings.Contains(out, `"route":"/tokens/{id}"`) {
		t.Fatalf("no request log lines: %s", out)
	}
}

// TestRekeyCommand: `sluice rekey` end to end; afterwards the new key opens everything and the old
// one is refused.
func TestRekeyCommand(t *testing.T) {
	withoutPostgres(t)
	dir := t.TempDir()
	p := start(t, []string{masterEnv(1), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dir})
	_, m := p.post(t, "/tokens", adminKey, map[string]any{"data": "rotate me"})
	id := m["id"].(string)
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	p.done <- nil

	newKeyFile := filepath.Join(t.TempDir(), "new.key")
	os.WriteFile(newKeyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))), 0o600)
	cmd := exec.Command(binPath, "rekey", "--data-dir", dir, "--new-master-key-file", newKeyFile)
	cmd.Env = append(os.Environ(), masterEnv(1))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rekey: %v %s", err, out)
	}
	cmd = exec.Command(binPath, "serve", "--listen", freePort(t), "--admin-listen", freePort(t))
	cmd.Env = append(os.Environ(), masterEnv(1), "SLUICE_DATA_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "master key does not open") {
		t.Fatalf("old key after rekey: %v %s", err, out)
	}
	p2 := start(t, []string{"SLUICE_MASTER_KEY=", "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dir}, "--master-key-file", newKeyFile)
	if st, m := p2.get(t, "/tokens/"+id, adminKey); st != 200 || m["data"] != "rotate me" {
		t.Fatalf("after rekey: %d %v", st, m)
	}
}

// TestAuditSurvivesKill9: reveals answered 200 are in the audit log after kill -9 and a restart.
func TestAuditSurvivesKill9(t *testing.T) {
	withoutPostgres(t)
	dir := t.TempDir()
	env := []string{masterEnv(4), "SLUICE_ADMIN_KEY=" + adminKey, "SLUICE_DATA_DIR=" + dir}
	p := start(t, env)
	_, m := p.post(t, "/tokens", adminKey, map[string]any{"data": "audited"})
	id := m["id"].(string)
	for i := 0; i < 5; i++ {
		if st, _ := p.get(t, "/tokens/"+id, adminKey); st != 200 {
			t.Fatal(st)
		}
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.done <- nil
	p2 := start(t, env)
	st, logs := p2.get(t, "/logs?operation=reveal&entity_id="+id, adminKey)
	if st != 200 || len(logs["data"].([]any)) != 5 {
		t.Fatalf("after kill -9: %d %v", st, logs)
	}
}

// TestSampleConfigStarts: examples/sluice.yaml starts as is (with a master key and, so the test
// can run beside others, its own ports and data dir given as flags, which beat the file).
func TestSampleConfigStarts(t *testing.T) {
	withoutPostgres(t)
	p := start(t, []string{masterEnv(5), "SLUICE_ADMIN_KEY=" + adminKey}, "--config", "examples/sluice.yaml", "--data-dir", t.TempDir())
	if st, _ := p.post(t, "/tokens", adminKey, map[string]any{"data": "x"}); st != 201 {
		t.Fatalf("sample config: %d", st)
	}
}
