package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

// edge is a Sluice running in-process on real 127.0.0.1 sockets for a test.
type testEdge struct {
	t        *testing.T
	srv      *Server
	base     string // http://127.0.0.1:port
	admin    string
	adminKey string
	logs     *syncBuffer
	stop     func()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testAdminKey = "key_test_admin_0123456789abcdefghijklmnopqrstuvwxyz"

// cleanup is t.Cleanup(fn) that lets go of fn once it ran. The testing package keeps a parallel
// test's cleanups until the binary exits, and with them what they reach: every edge (its vault's
// caches, its log) and destination of the run, hundreds of MB that each garbage collection marks.
func cleanup(t testing.TB, fn func()) {
	t.Cleanup(func() {
		f := fn
		fn = nil
		f()
	})
}

// startEdge runs a Server on free ports with a temp data dir; mod may adjust the config.
func startEdge(t *testing.T, mod ...func(*Config)) *testEdge {
	t.Helper()
	cfg := Defaults()
	cfg.DataDir = edgeDataDir(t)
	cfg.MasterKey = bytes.Repeat([]byte{0x42}, 32)
	cfg.AdminKey = testAdminKey
	logs := &syncBuffer{}
	cfg.Transforms.CacheDir = testwasm.CompileCacheDir() // Go guests compile once per run, not per edge
	// Badger at test scale: each edge allocates and zeroes its memtable arena at open, and page
	// faults are most of a test edge's cost on a small VM. Tests of sizes set their own.
	cfg.Storage.MemTableBytes, cfg.Storage.BlockCacheBytes, cfg.Storage.IndexCacheBytes = 1<<20, 1<<20, 1<<20
	cfg.Storage.AuditSegmentBytes = 1 << 20     // allocated whole at the first audit event: in RAM, that is zeroing it
	cfg.LogOutput, cfg.LogLevel = logs, "debug" // the production log path: buffered, request lines hand-encoded
	if raceEnabled {
		// A Go guest compiles in 1.5–3 s, but for over 30 s under -race on a loaded VM.
		cfg.Transforms.CompileTimeout = 10 * time.Minute
	}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := net.Listen("tcp", "127.0.0.1:0")
	adm, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, pub, adm); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	e := &testEdge{t: t, srv: srv, base: "http://" + pub.Addr().String(), admin: "http://" + adm.Addr().String(),
		adminKey: testAdminKey, logs: logs}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			srv.Close()
		})
	}
	cleanup(t, e.stop)
	return e
}

// logText is everything the edge has logged so far.
func (e *testEdge) logText() string {
	e.srv.logBuf.Flush()
	return e.logs.String()
}

// resp is a decoded answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// do sends a request with key as BT-API-KEY (if not empty) and body as JSON (string bodies as is).
func (e *testEdge) do(method, path, key string, body any, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("BT-API-KEY", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	cl := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// expect fails the test unless r has status want.
func (r *resp) expect(t *testing.T, want int) *resp {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// expectProblem checks an RFC 7807 body with status want (wrapped in proxy_error if wrapped).
func (r *resp) expectProblem(t *testing.T, want int, wrapped bool) map[string]any {
	t.Helper()
	r.expect(t, want)
	m := r.json(t)
	if wrapped {
		pe, ok := m["proxy_error"].(map[string]any)
		if !ok {
			t.Fatalf("no proxy_error: %s", r.body)
		}
		m = pe
	}
	if m["status"] != float64(want) || m["title"] == nil || m["title"] == "" {
		t.Fatalf("not an RFC 7807 body for %d: %s", want, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Fatalf("problem content type %q", ct)
	}
	return m
}

// newApp creates an application with perms and returns its key and id.
func (e *testEdge) newApp(typ string, perms ...string) (key, id string) {
	e.t.Helper()
	m := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "app", "type": typ, "permissions": perms}).expect(e.t, 201).json(e.t)
	return m["key"].(string), m["id"].(string)
}

func httpGet(url string) (int, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
