package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

func (e *testEdge) token(key string, body map[string]any) string {
	e.t.Helper()
	return e.do("POST", "/tokens", key, body).expect(e.t, 201).json(e.t)["id"].(string)
}

func TestProxyEphemeralDetokenizesBodyHeaderQuery(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, cardBody(pan))
	invoker, _ := e.newApp("private", "proxy:invoke")

	body := `{"card":"{{ ` + id + ` | json: '$.number' }}","exp":"{{ ` + id + `.expiration_month }}","n":1}`
	r := e.do("POST", "/proxy/echo/path?q="+url.QueryEscape("{{ "+id+" | json: '$.number' | last4 }}")+"&keep=1", invoker, body,
		"BT-PROXY-URL", dest.url+"/base//", "X-Card", "{{ "+id+" | json: '$.number' }}",
		"BT-Custom", "drop me", "X-Plain", "as is", "Connection", "X-Hop", "X-Hop", "gone",
		"BT-PROXY-KEEP-ALIVE", "timeout=5")
	r.expect(t, 200)
	if r.header.Get(edge.HeaderDestinationStatus) != "200" || r.header.Get("X-Echo") != "1" {
		t.Fatalf("response headers %v", r.header)
	}
	got := dest.last(t)
	var sent map[string]any
	if err := json.Unmarshal(got.body, &sent); err != nil {
		t.Fatalf("forwarded body is not JSON: %s", got.body)
	}
	if sent["card"] != pan || sent["n"] != float64(1) {
		t.Fatalf("forwarded body %s", got.body)
	}
	if got.path != "/base/echo/path" || got.query != "q=1111&keep=1" {
		t.Fatalf("path %q query %q", got.path, got.query)
	}
	if got.header.Get("X-Card") != pan || got.header.Get("X-Plain") != "as is" {
		t.Fatalf("headers %v", got.header)
	}
	for _, h := range []string{"Bt-Api-Key", "Bt-Custom", "Bt-Proxy-Url", "X-Hop", "Bt-Proxy-Keep-Alive"} {
		if got.header.Get(h) != "" {
			t.Fatalf("%s was forwarded", h)
		}
	}
	if got.header.Get("Keep-Alive") != "timeout=5" {
		t.Fatalf("BT-PROXY-KEEP-ALIVE not mapped: %v", got.header)
	}
	// Audit: one detokenize record for the one token, naming the invoker.
	evs := e.do("GET", "/logs?operation=detokenize&entity_id="+id, e.adminKey, nil).expect(t, 200).json(t)["data"].([]any)
	if len(evs) != 1 {
		t.Fatalf("%d detokenize events", len(evs))
	}
	reqID := r.header.Get("X-Request-Id")
	if len(reqID) != 24 {
		t.Fatalf("X-Request-Id %q on the proxied answer", reqID)
	}
	logs := e.logText()
	if !strings.Contains(logs, `"msg":"request","request_id":"`+reqID+`"`) || !strings.Contains(logs, `"route":"/proxy","status":200`) ||
		!strings.Contains(logs, `"tokens":1,`) {
		t.Fatalf("no request line for the proxied request in:\n%s", logs)
	}
	assertNoSecrets(t, logs, pan, invoker, e.adminKey)
}

// TestProxyHeaderOrderBothWays: repeated header names keep their order to the destination and
// back, and connection headers never cross, whichever way (in place or copied) the edge took.
func TestProxyHeaderOrderBothWays(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	for _, dup := range []bool{false, true} {
		req, _ := http.NewRequest("POST", e.base+"/proxy/headers", strings.NewReader(`{"a":1}`))
		req.Header.Set("BT-API-KEY", e.adminKey)
		req.Header.Set("BT-PROXY-URL", dest.url)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("Connection", "X-Hop-In")
		req.Header.Add("X-Hop-In", "1")
		req.Header.Add("X-Dup", "1")
		if dup {
			req.Header.Add("X-Dup", "2")
			req.Header.Add("X-Dup", "3")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || fmt.Sprint(resp.Header["Link"]) != "[<a> <b> <c>]" || resp.Header.Get("Keep-Alive") != "" ||
			resp.Header.Get("X-Hop") != "" || resp.Header.Get(edge.HeaderDestinationStatus) != "200" {
			t.Fatalf("answer %d %v", resp.StatusCode, resp.Header)
		}
		got := dest.last(t)
		want := "[1]"
		if dup {
			want = "[1 2 3]"
		}
		if fmt.Sprint(got.header["X-Dup"]) != want || got.header.Get("X-Hop-In") != "" || got.header.Get("Bt-Api-Key") != "" ||
			got.header.Get("Bt-Proxy-Url") != "" || string(got.body) != `{"a":1}` {
			t.Fatalf("destination got %v %s", got.header, got.body)
		}
	}
}

// TestProxyRequestIDIsACopy: the caller's X-Request-Id is kept as a copy. The proxy edits the
// caller's headers in place and fasthttp reuses a deleted header's storage for the next value it
// sets — here the Connection header from a detokenized BT-PROXY-CONNECTION; a view would have
// sent the card number back in X-Request-Id and into the request log.
func TestProxyRequestIDIsACopy(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, cardBody(pan))
	callerID := "caller-request-id-" + strings.Repeat("0123456789", 10) // long enough that a freed value buffer fits the next value
	// Raw, to fix the header order: X-Request-Id is the last header deleted.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /proxy/echo HTTP/1.1\r\nHost: x\r\nConnection: X-Request-Id\r\nX-Request-Id: %s\r\n"+
		"BT-PROXY-KEEP-ALIVE: timeout=5\r\nX-A: 1\r\nBT-API-KEY: %s\r\nBT-PROXY-CONNECTION: {{ %s | json: '$.number' }}\r\n"+
		"BT-PROXY-URL: %s\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}", callerID, e.adminKey, id, dest.url)
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := r.Header.Get("X-Request-Id"); got != callerID {
		t.Fatalf("X-Request-Id %q, want %q", got, callerID)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, pan) {
				t.Fatalf("plaintext in the answer's %s header", k)
			}
		}
	}
	if got := dest.last(t); got.header.Get("Keep-Alive") != "timeout=5" {
		t.Fatalf("destination Keep-Alive %q", got.header.Get("Keep-Alive"))
	}
	logs := e.logText()
	if !strings.Contains(logs, `"request_id":"`+callerID+`"`) {
		t.Fatal("no request line with the caller's id")
	}
	assertNoSecrets(t, logs, pan)
}

// TestProxyHTTP10: a caller speaking HTTP/1.0 gets an answer it can frame (no chunked
// encoding) and its request reaches the destination in HTTP/1.1; a destination answering in HTTP/1.0 reaches an HTTP/1.1 caller
// in HTTP/1.1 with a body it can read (whichever way the edge took, in place or copied).
func TestProxyHTTP10(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /proxy/echo HTTP/1.0\r\nHost: x\r\nBT-API-KEY: %s\r\nBT-PROXY-URL: %s\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		e.adminKey, dest.url)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(resp.TransferEncoding) > 0 || string(body) != `{"a":1}` {
		t.Fatalf("HTTP/1.0 caller got %s %d %v %q", resp.Proto, resp.StatusCode, resp.TransferEncoding, body)
	}
	if got := dest.last(t); got.proto != "HTTP/1.1" {
		t.Fatalf("destination got %s", got.proto)
	}

	// A destination that answers in HTTP/1.0, without a length (the body ends at close).
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				fmt.Fprint(c, "HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nX-Old: 1\r\n\r\nold server body")
			}()
		}
	}()
	e2 := startEdge(t, func(c *Config) { c.AllowPrivateDestinations, c.AllowHTTPDestinations = true, true })
	for range 2 { // the caller's connection stays usable
		r := e2.do("POST", "/proxy/x", e2.adminKey, `{"a":1}`, "BT-PROXY-URL", "http://"+ln.Addr().String())
		r.expect(t, 200)
		if string(r.body) != "old server body" || r.header.Get("X-Old") != "1" || r.header.Get("Keep-Alive") != "" {
			t.Fatalf("answer %q %v", r.body, r.header)
		}
	}
}

func TestProxyStatusesAndFailures(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	r := e.do("POST", "/proxy/status/503", k, "x", "BT-PROXY-URL", dest.url)
	r.expect(t, 503)
	if r.header.Get(edge.HeaderDestinationStatus) != "503" || r.header.Get("X-Dest") != "yes" || string(r.body) != `{"from":"destination"}` {
		t.Fatalf("503 not passed through: %v %s", r.header, r.body)
	}
	r = e.do("GET", "/proxy/redirect", k, nil, "BT-PROXY-URL", dest.url)
	r.expect(t, 302)
	if !strings.HasSuffix(r.header.Get("Location"), "/elsewhere") || len(dest.requests()) != 2 {
		t.Fatalf("redirect followed or lost: %v, %d requests", r.header, len(dest.requests()))
	}
	// Unreachable: a closed port.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "https://localhost:" + strings.Split(ln.Addr().String(), ":")[1]
	ln.Close()
	m := e.do("GET", "/proxy", k, nil, "BT-PROXY-URL", closed).expectProblem(t, 502, true)
	if m["detail"] == "" {
		t.Fatal("502 without detail")
	}
	if e.do("GET", "/proxy", k, nil, "BT-PROXY-URL", closed).header.Get(edge.HeaderDestinationStatus) != "" {
		t.Fatal("destination status on an edge error")
	}
	// Timeout: a proxy with a 1 s timeout against a 3 s destination.
	px := e.do("POST", "/proxies", k, map[string]any{"name": "slow", "destination_url": dest.url, "timeout": 1}).expect(t, 201).json(t)
	// The destination answers after 3 s: a 408 (not its 200) proves the 1 s timeout fired.
	e.do("GET", "/proxy/slow", k, nil, "BT-PROXY-KEY", px["key"].(string)).expectProblem(t, 408, true)
	// Auth.
	e.do("POST", "/proxy", "", "x", "BT-PROXY-URL", dest.url).expectProblem(t, 401, true)
	reader, _ := e.newApp("private", "token:read")
	e.do("POST", "/proxy", reader, "x", "BT-PROXY-URL", dest.url).expectProblem(t, 403, true)
	user, _ := e.newApp("private", "token:use")
	e.do("POST", "/proxy", user, "x", "BT-PROXY-URL", dest.url).expect(t, 200)
	// No destination, unknown proxy key, a policy refusal.
	e.do("POST", "/proxy", k, "x").expectProblem(t, 400, true)
	e.do("POST", "/proxy", k, "x", "BT-PROXY-KEY", "nope").expectProblem(t, 404, true)
	e.do("POST", "/proxy", k, "x", "BT-PROXY-URL", "ftp://localhost/").expectProblem(t, 400, true)
	e.do("PUT", "/proxy/x", k, "x", "BT-PROXY-URL", dest.url).expect(t, 200)
	e.do("OPTIONS", "/proxy/x", k, nil, "BT-PROXY-URL", dest.url).expectProblem(t, 405, true)
}

func TestProxyDestinationPolicyWithoutAllowFlags(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := startEdge(t, func(c *Config) { c.DestinationCAFile = dest.caFile })
	for _, u := range []string{dest.url, "https://127.0.0.1:1/", "http://example.com/", "https://2130706433/"} {
		e.do("POST", "/proxy", e.adminKey, "x", "BT-PROXY-URL", u).expectProblem(t, 400, true)
	}
	if n := len(dest.requests()); n != 0 {
		t.Fatalf("%d requests reached a loopback destination", n)
	}
	e.do("POST", "/proxies", e.adminKey, map[string]any{"name": "p", "destination_url": dest.url}).expectProblem(t, 400, false)
}

func TestProxyEphemeralSwitchedOff(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	off := false
	e := proxyEdge(t, dest, func(c *Config) { c.EphemeralProxy = &off })
	e.do("POST", "/proxy", e.adminKey, "x", "BT-PROXY-URL", dest.url).expectProblem(t, 403, true)
}

// TestProxyEscaping: values with quotes, backslashes, braces, U+2028 and newlines stay inside
// their JSON string; a CR/LF value into a header is refused and nothing is sent.
func TestProxyEscaping(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	nasty := "a\"b\\c}}{{d\u2028e\nf\r\x00g</script>"
	id := e.token(e.adminKey, map[string]any{"data": nasty})
	body := `{"v":"{{ ` + id + ` }}","w":"pre {{ ` + id + ` }} post","k":2}`
	e.do("POST", "/proxy", e.adminKey, body, "BT-PROXY-URL", dest.url).expect(t, 200)
	var sent map[string]any
	if err := json.Unmarshal(dest.last(t).body, &sent); err != nil {
		t.Fatalf("forwarded JSON broken: %v %q", err, dest.last(t).body)
	}
	if sent["v"] != nasty || sent["w"] != "pre "+nasty+" post" || len(sent) != 3 {
		t.Fatalf("forwarded %v", sent)
	}
	// Form body: form-encoded.
	e.do("POST", "/proxy", e.adminKey, "a={{ "+id+" }}&b=2", "BT-PROXY-URL", dest.url, "Content-Type", "application/x-www-form-urlencoded").expect(t, 200)
	q, err := url.ParseQuery(string(dest.last(t).body))
	if err != nil || q.Get("a") != nasty || q.Get("b") != "2" {
		t.Fatalf("form: %v %v", err, q)
	}
	// Header: refused, nothing sent.
	before := len(dest.requests())
	e.do("POST", "/proxy", e.adminKey, "x", "BT-PROXY-URL", dest.url, "X-Inject", "{{ "+id+" }}").expectProblem(t, 400, true)
	if len(dest.requests()) != before {
		t.Fatal("a request with a CR/LF header value was forwarded")
	}
}

func TestPreconfiguredProxies(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	id := e.token(k, cardBody(pan))
	px := e.do("POST", "/proxies", k, map[string]any{"name": "acme", "destination_url": dest.url + "/api/",
		"configuration": map[string]string{"MERCHANT": "m-42"}}).expect(t, 201).json(t)
	pkey, pid := px["key"].(string), px["id"].(string)
	if px["require_auth"] != true || pkey == "" {
		t.Fatalf("create: %v", px)
	}
	body := `{"card":"{{ ` + id + ` | json: '$.number' }}","merchant":"{{ config: MERCHANT }}"}`
	// Header key; BT-PROXY-URL is ignored.
	e.do("POST", "/proxy/charge", k, body, "BT-PROXY-KEY", pkey, "BT-PROXY-URL", "https://ignored.example").expect(t, 200)
	got := dest.last(t)
	if got.path != "/api/charge" || !strings.Contains(string(got.body), pan) || !strings.Contains(string(got.body), `"merchant":"m-42"`) {
		t.Fatalf("pre-configured forward: %s %s", got.path, got.body)
	}
	// Query key: stripped before forwarding.
	e.do("POST", "/proxy/charge?a=1&bt-proxy-key="+pkey+"&b=2", k, body).expect(t, 200)
	if q := dest.last(t).query; q != "a=1&b=2" {
		t.Fatalf("query %q", q)
	}
	// Anonymous: 401 while require_auth is true.
	e.do("POST", "/proxy/charge", "", body, "BT-PROXY-KEY", pkey).expectProblem(t, 401, true)
	// Merge patch: 415 without the right content type, then require_auth false.
	e.do("PATCH", "/proxies/"+pid, k, map[string]any{"require_auth": false}).expectProblem(t, 415, false)
	p := e.do("PATCH", "/proxies/"+pid, k, map[string]any{"require_auth": false}, "Content-Type", "application/merge-patch+json").expect(t, 200).json(t)
	if p["require_auth"] != false || p["name"] != "acme" || p["configuration"].(map[string]any)["MERCHANT"] != "m-42" {
		t.Fatalf("patched %v", p)
	}
	e.do("POST", "/proxy/charge", "", body, "BT-PROXY-KEY", pkey).expect(t, 200)
	if !strings.Contains(string(dest.last(t).body), pan) {
		t.Fatal("anonymous pre-configured call did not detokenize")
	}
	// disable_detokenization passes expressions through untouched.
	e.do("PATCH", "/proxies/"+pid, k, map[string]any{"disable_detokenization": true}, "Content-Type", "application/merge-patch+json").expect(t, 200)
	e.do("POST", "/proxy/charge", k, body, "BT-PROXY-KEY", pkey).expect(t, 200)
	if string(dest.last(t).body) != body {
		t.Fatalf("detokenized although disabled: %s", dest.last(t).body)
	}
	// Unknown configuration name → 400 naming it; nothing forwarded.
	e.do("PATCH", "/proxies/"+pid, k, map[string]any{"disable_detokenization": false}, "Content-Type", "application/merge-patch+json").expect(t, 200)
	n := len(dest.requests())
	m := e.do("POST", "/proxy", k, `{"x":"{{ config: NOPE }}"}`, "BT-PROXY-KEY", pkey).expectProblem(t, 400, true)
	if !strings.Contains(fmt.Sprint(m), "NOPE") || len(dest.requests()) != n {
		t.Fatalf("unknown config: %v", m)
	}
	// CRUD.
	if l := e.do("GET", "/proxies", k, nil).expect(t, 200).json(t)["data"].([]any); len(l) != 1 {
		t.Fatalf("list %v", l)
	}
	e.do("PUT", "/proxies/"+pid, k, map[string]any{"name": "acme2", "destination_url": dest.url}).expect(t, 200)
	if g := e.do("GET", "/proxies/"+pid, k, nil).expect(t, 200).json(t); g["name"] != "acme2" || g["key"] != pkey {
		t.Fatalf("after PUT: %v", g)
	}
	e.do("DELETE", "/proxies/"+pid, k, nil).expect(t, 204)
	e.do("POST", "/proxy", k, body, "BT-PROXY-KEY", pkey).expectProblem(t, 404, true)
	e.do("GET", "/proxies/"+pid, k, nil).expectProblem(t, 404, false)
}

func TestProxyTokenLimits(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest, func(c *Config) { c.Limits.ProxyBodyBytes = 1 << 20 })
	k := e.adminKey
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = e.token(k, map[string]any{"data": fmt.Sprint("v", i)})
	}
	body := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `"{{ ` + ids[i] + ` }}"`
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	px := e.do("POST", "/proxies", k, map[string]any{"name": "p", "destination_url": dest.url}).expect(t, 201).json(t)
	e.do("POST", "/proxy", k, body(20), "BT-PROXY-KEY", px["key"].(string)).expect(t, 200)
	before := len(dest.requests())
	e.do("POST", "/proxy", k, body(21), "BT-PROXY-KEY", px["key"].(string)).expectProblem(t, 400, true)
	e.do("POST", "/proxy", k, body(100), "BT-PROXY-URL", dest.url).expect(t, 200)
	before++
	e.do("POST", "/proxy", k, body(101), "BT-PROXY-URL", dest.url).expectProblem(t, 400, true)
	e.do("POST", "/proxy", k, strings.Repeat("x", 1<<20+1), "BT-PROXY-URL", dest.url).expectProblem(t, 413, true)
	if len(dest.requests()) != before {
		t.Fatal("a refused request was forwarded")
	}
	// Unknown token → 400 naming it.
	m := e.do("POST", "/proxy", k, `{"a":"{{ no-such-token }}"}`, "BT-PROXY-URL", dest.url).expectProblem(t, 400, true)
	if !strings.Contains(fmt.Sprint(m), "no-such-token") {
		t.Fatalf("unknown token not named: %v", m)
	}
	// Malformed expression → 400 naming it.
	e.do("POST", "/proxy", k, `{"a":"{{ x | nofilter }}"}`, "BT-PROXY-URL", dest.url).expectProblem(t, 400, true)
}

func TestProxyContainerPermission(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, cardBody(pan)) // /pci/high/
	m := e.do("POST", "/applications", e.adminKey, map[string]any{"name": "pii only", "type": "private",
		"permissions": []string{"proxy:invoke"}, "containers": []string{"/pii/"}}).expect(t, 201).json(t)
	e.do("POST", "/proxy", m["key"].(string), `{"a":"{{ `+id+` }}"}`, "BT-PROXY-URL", dest.url).expectProblem(t, 400, true) // as if unknown
	if len(dest.requests()) != 0 {
		t.Fatal("forwarded a token the key may not use")
	}
}

func TestProxyDeclarativeTransforms(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	px := e.do("POST", "/proxies", k, map[string]any{
		"name": "t", "destination_url": dest.url,
		"request_transforms": []any{map[string]any{"type": "tokenize", "options": map[string]any{
			"location": "$.card.number", "token": map[string]any{"type": "card_number"}}}},
		"response_transforms": []any{
			map[string]any{"type": "tokenize", "options": map[string]any{"location": "$.account", "token": map[string]any{"type": "us_bank_account_number"}}},
			map[string]any{"type": "mask", "matcher": "regex", "expression": `"ssn":"\d{3}-\d{2}-(\d{4})"`, "replacement": "*"},
			map[string]any{"type": "append_json", "options": map[string]any{"value": "{{ config: TAG }}", "location": "$.tag"}},
			map[string]any{"type": "append_header", "options": map[string]any{"name": "X-Tagged", "value": "yes"}},
		},
		"configuration": map[string]string{"TAG": "t-1"},
	}).expect(t, 201).json(t)
	pkey := px["key"].(string)
	answer := `{"account":"123456789","ssn":"123-45-6789","keep":"x"}`
	r := e.do("POST", "/proxy/json", k, `{"card":{"number":"`+pan+`"},"amount":10}`, "BT-PROXY-KEY", pkey, "X-Answer", answer).expect(t, 200)
	// Request side: the destination got a token id where the PAN was, and the vault has the PAN.
	sent := dest.last(t)
	if strings.Contains(string(sent.body), pan) {
		t.Fatal("the destination saw the PAN")
	}
	var req struct {
		Card   struct{ Number string } `json:"card"`
		Amount int
	}
	json.Unmarshal(sent.body, &req)
	if req.Amount != 10 {
		t.Fatalf("other fields changed: %s", sent.body)
	}
	if v := e.do("GET", "/tokens/"+req.Card.Number, k, nil).expect(t, 200).json(t)["data"]; v != pan {
		t.Fatalf("vaulted %v", v)
	}
	// Response side: tokenized, masked, appended.
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("response %s", r.body)
	}
	if out["account"] == "123456789" || out["ssn"] != "123-45-****" || out["tag"] != "t-1" || out["keep"] != "x" || r.header.Get("X-Tagged") != "yes" {
		t.Fatalf("response transforms: %s %v", r.body, r.header)
	}
	if v := e.do("GET", "/tokens/"+out["account"].(string), k, nil).expect(t, 200).json(t)["data"]; v != "123456789" {
		t.Fatalf("response vaulted %v", v)
	}
	// Non-2xx: response transforms skipped.
	r = e.do("POST", "/proxy/json", k, `{"card":{"number":"`+pan+`"}}`, "BT-PROXY-KEY", pkey, "X-Answer", answer, "X-Status", "400").expect(t, 400)
	if string(r.body) != answer || r.header.Get("X-Tagged") != "" {
		t.Fatalf("transforms ran on a 400: %s", r.body)
	}
	// Invalid transform definitions.
	for _, tr := range []map[string]any{
		{"type": "mask", "matcher": "regex", "expression": "no group"},
		{"type": "tokenize", "options": map[string]any{"location": "card", "token": map[string]any{"type": "card_number"}}},
		{"type": "append_header", "options": map[string]any{"name": "BT-API-KEY", "value": "x"}},
		{"type": "teleport"},
	} {
		e.do("POST", "/proxies", k, map[string]any{"name": "bad", "destination_url": dest.url, "request_transforms": []any{tr}}).expectProblem(t, 400, false)
	}
}

// failingAudit is a vault whose audit writes fail.
type failingAudit struct{ store.Store }

func (failingAudit) Audit(context.Context, ...store.Event) error { return errors.New("disk full") }

// TestAuditFailureForwardsNothing: if the detokenization record cannot be written, the request
// fails with 500 and zero requests reach the destination.
func TestAuditFailureForwardsNothing(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	id := e.token(e.adminKey, cardBody(pan))
	e.srv.store = failingAudit{e.srv.store}
	e.srv.vault = vault.New(e.srv.store, e.srv.now) // the token service and the pipeline read through it too
	if err := e.srv.initProxying(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		e.do("POST", "/proxy", e.adminKey, `{"a":"{{ `+id+` }}"}`, "BT-PROXY-URL", dest.url).expectProblem(t, 500, true)
	}
	e.do("GET", "/tokens/"+id, e.adminKey, nil).expectProblem(t, 500, false) // reveal fails closed too
	if n := len(dest.requests()); n != 0 {
		t.Fatalf("%d requests forwarded without audit", n)
	}
}

// TestAuditRecordsEqualDetokenizations counts detokenize records against detokenizations.
func TestAuditRecordsEqualDetokenizations(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	a, b := e.token(e.adminKey, map[string]any{"data": "A"}), e.token(e.adminKey, map[string]any{"data": "B"})
	for i := 0; i < 5; i++ {
		e.do("POST", "/proxy", e.adminKey, `["{{ `+a+` }}","{{ `+b+` }}","{{ `+a+` }}"]`, "BT-PROXY-URL", dest.url).expect(t, 200)
	}
	evs := e.do("GET", "/logs?operation=detokenize&size=100", e.adminKey, nil).expect(t, 200).json(t)["data"].([]any)
	if len(evs) != 10 {
		t.Fatalf("%d detokenize records for 10 detokenizations", len(evs))
	}
}
