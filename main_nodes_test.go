package main

// Process tests of nodes that share a vault in PostgreSQL (SPEC §11): `sluice serve
// --database-url` processes on 127.0.0.1 against the throwaway PostgreSQL of pgtest (or
// SLUICE_TEST_DATABASE_URL), a real destination on 127.0.0.1, kill -9 and a stopped database.
// Times are measured and logged; the tests fail only past nodeBound, generous for a loaded VM.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store/storetest"
)

// nodeBound is the hard limit on a change made through one node being seen on another, and on
// a node noticing that the database went or came back. The SPEC's goal is 1 s; the measured
// times are logged, and checked against it only loosely (see seenWithin).
const nodeBound = 15 * time.Second

// specBound is the SPEC's "within 1 s".
const specBound = time.Second

// nodes is a set of `sluice serve` processes sharing one PostgreSQL database.
type nodes struct {
	url   string
	env   []string
	procs []*proc
}

// startNodes starts n nodes on a new database (the first migrates it; the others find it
// migrated), all with the same master and admin keys, all trusting plain-HTTP destinations on
// 127.0.0.1.
func startNodes(t *testing.T, n int) *nodes {
	t.Helper()
	url := withParam(storetest.PostgresDatabase(t), "connect_timeout=2")
	c := &nodes{url: url, env: []string{masterEnv(11), "SLUICE_ADMIN_KEY=" + adminKey}}
	for range n {
		c.add(t)
	}
	return c
}

// add starts one more node on the database.
func (c *nodes) add(t *testing.T) *proc {
	t.Helper()
	p := start(t, append(c.env, "SLUICE_DATA_DIR="+t.TempDir()), "--database-url", c.url,
		"--allow-private-destinations", "--allow-http-destinations")
	c.procs = append(c.procs, p)
	return p
}

func withParam(url, param string) string {
	if strings.Contains(url, "?") {
		return url + "&" + param
	}
	return url + "?" + param
}

// kill9 kills p at once, as a crash would.
func kill9(p *proc) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.done <- <-p.done // the cleanup of start waits for it again
}

var nodeClient = &http.Client{Timeout: 30 * time.Second}

// answer is one HTTP answer of a node.
type answer struct {
	status int
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %.300s", a.status, a.body)
	}
	return m
}

func (a answer) expect(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %.300s", a.status, status, a.body)
	}
	return a
}

// call sends one request to the node's API listener: body is sent as is when it is a string,
// as JSON otherwise; hdr are header name, value pairs. A transport error fails t.
func (p *proc) call(t *testing.T, method, path, key string, body any, hdr ...string) answer {
	t.Helper()
	a, err := p.try(method, path, key, body, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// try is call that returns the transport error (the node is gone) instead of failing.
func (p *proc) try(method, path, key string, body any, hdr ...string) (answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, "http://"+p.addr+path, r)
	req.Header.Set("BT-API-KEY", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := nodeClient.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s on %s: %w", method, path, p.addr, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{res.StatusCode, b}, err
}

func (p *proc) readyzStatus(t *testing.T) int {
	t.Helper()
	res, err := nodeClient.Get("http://" + p.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// cardData is a card token's request body.
func cardData(number string) map[string]any {
	return map[string]any{"type": "card", "data": map[string]any{
		"number": number, "expiration_month": 12, "expiration_year": time.Now().Year() + 3}}
}

// newToken creates a card token through p and returns its id.
func (p *proc) newToken(t *testing.T, number string) string {
	t.Helper()
	return p.call(t, "POST", "/tokens", adminKey, cardData(number)).expect(t, 201).json(t)["id"].(string)
}

// detokenizing is a proxy body that detokenizes the card number of token id.
func detokenizing(id string) string { return `{"card":"{{ ` + id + ` | json: '$.number' }}"}` }

// seenWithin polls cond until it holds and returns how long that took, logging it against the
// SPEC's 1 s; past nodeBound it fails t. The 1 s is not asserted: on this shared VM a poll, a
// scheduler hiccup or the garbage collector can take more than the margin such a check would
// need; the times logged show what the mechanism does.
func seenWithin(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	took := poll(t, what, 5*time.Millisecond, cond)
	verdict := "within"
	if took > specBound {
		verdict = "NOT within"
	}
	t.Logf("%s: seen after %v (%s the SPEC's %v)", what, took.Round(time.Millisecond), verdict, specBound)
	return took
}

// waitUntil is seenWithin for what the SPEC gives no time, polled less often: the nodes'
// health pings, which most of these waits are for, come once a second.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	t.Logf("%s: after %v", what, poll(t, what, 20*time.Millisecond, cond).Round(time.Millisecond))
}

// poll calls cond every interval until it holds and returns how long that took; past nodeBound
// it fails t.
func poll(t *testing.T, what string, interval time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > nodeBound {
			t.Fatalf("%s: not within %v", what, nodeBound)
		}
		time.Sleep(interval)
	}
	return time.Since(start)
}

// destination is a real HTTP server on 127.0.0.1 that records what it receives.
type destination struct {
	url string
	mu  sync.Mutex
	got []received
}

type received struct {
	path string
	body string
}

func newDestination(t *testing.T) *destination {
	d := &destination{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.got = append(d.got, received{r.URL.Path, string(b)})
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return d
}

// received returns a copy of what the destination got so far.
func (d *destination) received() []received {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]received(nil), d.got...)
}

// holding counts the requests received whose body holds s.
func (d *destination) holding(s string) int {
	n := 0
	for _, r := range d.received() {
		if strings.Contains(r.body, s) {
			n++
		}
	}
	return n
}

// eventCount is how many audit events of operation on entity id p's GET /logs lists.
func (p *proc) eventCount(t *testing.T, id, operation string) int {
	t.Helper()
	m := p.call(t, "GET", "/logs?page=1&size=1&entity_id="+id+"&operation="+operation, adminKey, nil).expect(t, 200).json(t)
	return int(m["pagination"].(map[string]any)["total_items"].(float64))
}

// TestThreeNodesSeeEachOthersChanges: a token created on node 1 reads on node 2; a proxy
// created on node 2 is invoked on node 3; an application deleted on node 3 has its key refused
// on node 1; a token deleted on node 1 stops detokenizing on node 2; a key deleted on node 3
// stops decrypting on node 2 — caches included; every node lists the audit events of all three.
func TestThreeNodesSeeEachOthersChanges(t *testing.T) {
	dest := newDestination(t)
	c := startNodes(t, 3)
	n1, n2, n3 := c.procs[0], c.procs[1], c.procs[2]
	const pan, pan2 = "4242424242424242", "5555555555554444"

	id := n1.newToken(t, pan)
	seenWithin(t, "token created on node 1 read on node 2", func() bool {
		a := n2.call(t, "GET", "/tokens/"+id, adminKey, nil)
		return a.status == 200 && a.json(t)["data"].(map[string]any)["number"] == pan
	})

	px := n2.call(t, "POST", "/proxies", adminKey, map[string]any{"name": "acme", "destination_url": dest.url + "/v1/"}).expect(t, 201).json(t)
	pkey, pid := px["key"].(string), px["id"].(string)
	seenWithin(t, "proxy created on node 2 invoked on node 3", func() bool {
		a := n3.call(t, "POST", "/proxy/charge", adminKey, detokenizing(id), "BT-PROXY-KEY", pkey)
		if a.status != 200 && a.status != 404 {
			t.Fatalf("invoke: %d %s", a.status, a.body)
		}
		return a.status == 200
	})
	if got := dest.received(); got[len(got)-1].path != "/v1/charge" || !strings.Contains(got[len(got)-1].body, pan) {
		t.Fatalf("the destination got %+v", got[len(got)-1])
	}

	app := n1.call(t, "POST", "/applications", adminKey, map[string]any{"name": "a", "type": "private", "permissions": []string{"token:read"}}).expect(t, 201).json(t)
	appKey, appID := app["key"].(string), app["id"].(string)
	const missing = "/tokens/00000000-0000-4000-8000-000000000000"
	n1.call(t, "GET", missing, appKey, nil).expect(t, 404) // node 1 caches the principal
	n3.call(t, "DELETE", "/applications/"+appID, adminKey, nil).expect(t, 204)
	seenWithin(t, "application deleted on node 3: its key refused on node 1", func() bool {
		a := n1.call(t, "GET", missing, appKey, nil)
		if a.status != 404 && a.status != 401 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		return a.status == 401
	})

	id2 := n1.newToken(t, pan2)
	detokenize := func() answer {
		return n2.call(t, "POST", "/proxy", adminKey, detokenizing(id2), "BT-PROXY-URL", dest.url)
	}
	detokenize().expect(t, 200) // node 2 caches the sealed token
	if dest.holding(pan2) != 1 {
		t.Fatal("node 2 did not detokenize")
	}
	n1.call(t, "DELETE", "/tokens/"+id2, adminKey, nil).expect(t, 204)
	var last answer
	seenWithin(t, "token deleted on node 1: no longer detokenized on node 2", func() bool {
		last = detokenize()
		return last.status != 200
	})
	last.expect(t, 400)
	forwarded := dest.holding(pan2)
	detokenize().expect(t, 400)
	if dest.holding(pan2) != forwarded {
		t.Fatal("a request naming a deleted token was forwarded")
	}

	key := n1.call(t, "POST", "/keys", adminKey, map[string]any{"alg": "ECDH-ES+A256KW"}).expect(t, 201).json(t)
	btEncrypted := base64.StdEncoding.EncodeToString([]byte(`{"type":"card","encrypted":"` + encryptP256(t, key, `{"number":"`+pan+`"}`) + `"}`))
	decrypt := func() answer {
		return n2.call(t, "POST", "/proxy", adminKey, `{"n":"{{ encrypted | json: '$.data.number' }}"}`, "BT-PROXY-URL", dest.url, "BT-ENCRYPTED", btEncrypted)
	}
	seenWithin(t, "key created on node 1 decrypts on node 2", func() bool { return decrypt().status == 200 }) // and is cached there
	n3.call(t, "DELETE", "/keys/"+key["id"].(string), adminKey, nil).expect(t, 204)
	seenWithin(t, "key deleted on node 3: no longer decrypts on node 2", func() bool {
		last = decrypt()
		return last.status != 200
	})
	last.expect(t, 400)

	// The events, each written by one node, as every node lists them.
	events := []struct{ id, op string }{
		{id, "create"},     // node 1
		{id, "detokenize"}, // node 3
		{pid, "create"},    // node 2
		{appID, "create"},  // node 1
		{appID, "delete"},  // node 3
		{id2, "detokenize"},
		{id2, "delete"},                // node 1
		{key["id"].(string), "delete"}, // node 3
	}
	for i, n := range c.procs {
		for _, ev := range events {
			if got := n.eventCount(t, ev.id, ev.op); got < 1 {
				t.Errorf("node %d lists no %s event of %s", i+1, ev.op, ev.id)
			}
		}
	}
	if got := n3.eventCount(t, id2, "detokenize"); got != forwarded {
		t.Errorf("%d detokenize events of the deleted token, %d requests forwarded with it", got, forwarded)
	}
}
