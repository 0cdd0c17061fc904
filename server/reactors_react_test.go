package server

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

// processor is a payment processor on 127.0.0.1 over TLS: it records each charge and answers
// with a charge id and a network token.
type processor struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	got    []processorCall
}

type processorCall struct {
	auth string
	body []byte
}

func startProcessor(t *testing.T) *processor {
	t.Helper()
	p := &processor{}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got = append(p.got, processorCall{r.Header.Get("Authorization"), body})
		p.mu.Unlock()
		switch r.URL.Path {
		case "/big-length": // 2 MiB, announced
			w.Header().Set("Content-Length", strconv.Itoa(2<<20))
			w.Write(make([]byte, 2<<20))
		case "/big-chunked": // 2 MiB, unannounced
			for i := 0; i < 32; i++ {
				w.Write(make([]byte, 64<<10))
				w.(http.Flusher).Flush()
			}
		case "/hang": // answers when the edge gives up, or after a minute
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"ch_1","network_token":"nt_4242_network"}`))
		}
	}))
	cleanup(t, p.srv.Close)
	p.caFile = filepath.Join(t.TempDir(), "processor-ca.pem")
	if err := os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *processor) calls() []processorCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]processorCall(nil), p.got...)
}

// reactEdge is an edge that trusts the processor's certificate and lets destinations be on
// 127.0.0.1.
func reactEdge(t *testing.T, p *processor, mod ...func(*Config)) *testEdge {
	return startEdge(t, append([]func(*Config){func(c *Config) {
		c.DestinationCAFile = p.caFile
		c.AllowPrivateDestinations = true
		c.Timeouts.Destination = 10 * time.Second
	}}, mod...)...)
}

// TestReactChargeCardDetokenizedArgReachesTLSProcessor: the example reactor gets the card number
// from a token expression in its args, posts it to a real TLS destination with
// sluice.http_request, and the network token it returns is vaulted; the caller sees neither the
// card number nor the network token.
func TestReactChargeCardDetokenizedArgReachesTLSProcessor(t *testing.T) {
	t.Parallel()
	p := startProcessor(t)
	e := reactEdge(t, p)
	k := e.adminKey
	card := e.token(k, map[string]any{"type": "card_number", "data": "4242424242424242"})
	wasm := base64.StdEncoding.EncodeToString(testwasm.Example(t, "charge-card"))
	r := e.newReactor(k, "charge", wasm, map[string]string{"CHARGE_URL": p.srv.URL + "/charges", "API_KEY": "sk_test_processor"})
	invoker, _ := e.newApp("private", "reactor:invoke")
	// The reactor acts as its creator (the admin): the invoker itself may not read the card.
	res := e.do("POST", "/reactors/"+r["id"].(string)+"/react", invoker,
		map[string]any{"args": map[string]any{"card": map[string]any{"number": "{{ " + card + " }}"}, "amount": 1000}})
	res.expect(t, 200)
	var out struct {
		Tokens struct {
			NetworkToken string `json:"network_token"`
		} `json:"tokens"`
		Raw struct {
			Status   int    `json:"status"`
			ChargeID string `json:"charge_id"`
		} `json:"raw"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.Raw.Status != 200 || out.Raw.ChargeID != "ch_1" || out.Tokens.NetworkToken == "" {
		t.Fatalf("react answer %s", res.body)
	}
	assertNoSecrets(t, string(res.body), "4242424242424242", "nt_4242_network", "sk_test_processor")
	calls := p.calls()
	if len(calls) != 1 || calls[0].auth != "Bearer sk_test_processor" || string(calls[0].body) != `{"amount":1000,"number":"4242424242424242"}` {
		t.Fatalf("processor got %+v", calls)
	}
	if v := e.do("GET", "/tokens/"+out.Tokens.NetworkToken, k, nil).expect(t, 200).json(t)["data"]; v != "nt_4242_network" {
		t.Fatalf("network token vaulted as %v", v)
	}
	// The card's use is audited, and nothing of it is in the edge's log.
	logs := e.do("GET", "/logs?entity_id="+card, k, nil).expect(t, 200)
	if !strings.Contains(string(logs.body), "detokenize") {
		t.Fatalf("the card's use by the reactor is not audited: %s", logs.body)
	}
	logText := e.logText()
	assertNoSecrets(t, logText, "4242424242424242", "nt_4242_network", "sk_test_processor")
	// The guest's wait on the processor is the react's destination time in its log line.
	for _, l := range strings.Split(logText, "\n") {
		if strings.Contains(l, `"route":"/reactors/{id}/react"`) && strings.Contains(l, `"destination_ms":0,`) {
			t.Errorf("the react's log line has no destination time: %s", l)
		}
	}
	if n := e.srv.wasm.Stats().RequestPathInstantiations; n != 0 {
		t.Fatalf("%d instantiations on the request path", n)
	}
	metrics := e.metricsText()
	for _, want := range []string{`sluice_guest_http_requests_total{result="ok"} 1`, `sluice_guest_http_requests_total{result="refused"} 0`,
		`sluice_guest_http_duration_seconds_count 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// metricsText is what the admin listener's /metrics serves.
func (e *testEdge) metricsText() string {
	e.t.Helper()
	res, err := http.Get(e.admin + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestReactArgsUnderReactorApplicationRules: the args are detokenized with the rules of the
// reactor's application, not the caller's, and at most 100 distinct tokens are resolved.
func TestReactArgsUnderReactorApplicationRules(t *testing.T) {
	t.Parallel()
	p := startProcessor(t)
	e := reactEdge(t, p)
	k := e.adminKey
	echo := base64.StdEncoding.EncodeToString(testdataWasm(t, "reactecho"))
	tok := e.token(k, map[string]any{"type": "token", "data": "react-secret"})
	_, noUse := e.newApp("private", "token:create")
	r := e.newReactor(k, "echo", echo, nil, "application", map[string]string{"id": noUse})
	// reactecho returns its args as the result: {"raw": "<resolved>"} is a valid one. The admin
	// may read the token; the reactor's application may not use it.
	e.do("POST", "/reactors/"+r["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"raw": "{{ " + tok + " }}"}}).expectProblem(t, 403, false)
	e.do("POST", "/reactors/"+r["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"raw": "no tokens"}}).expect(t, 200)
	own := e.newReactor(k, "echo-admin", echo, nil)
	res := e.do("POST", "/reactors/"+own["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"raw": "{{ " + tok + " }}"}}).expect(t, 200).json(t)
	if res["raw"] != "react-secret" || res["tokens"] != nil {
		t.Fatalf("echo answer %v", res)
	}
	var many strings.Builder
	for i := 0; i < 101; i++ {
		many.WriteString("{{ tok" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " }}")
	}
	e.do("POST", "/reactors/"+own["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"raw": many.String()}}).expectProblem(t, 400, false)
}

// TestReactBlockedDestinationFailsAlone: a reactor whose destination the policy refuses (a
// cloud metadata address, refused even when private destinations are allowed) fails with the
// guest's own error and reaches nothing; the next react of a good reactor works.
func TestReactBlockedDestinationFailsAlone(t *testing.T) {
	t.Parallel()
	p := startProcessor(t)
	e := reactEdge(t, p)
	k := e.adminKey
	card := e.token(k, map[string]any{"type": "card_number", "data": "4242424242424242"})
	wasm := e.upload(k, testwasm.Example(t, "charge-card")) // one upload: three reactors run it
	args := map[string]any{"args": map[string]any{"card": map[string]any{"number": "{{ " + card + " }}"}, "amount": 5}}
	for _, url := range []string{"https://169.254.169.254/charges", "http://" + strings.TrimPrefix(p.srv.URL, "https://") + "/charges"} {
		bad := e.newReactor(k, "blocked", wasm, map[string]string{"CHARGE_URL": url})
		m := e.do("POST", "/reactors/"+bad["id"].(string)+"/react", k, args).expectProblem(t, 503, true)
		if msgs := m["errors"].(map[string]any)["error"].([]any); len(msgs) != 1 || msgs[0] != "the processor could not be reached" {
			t.Fatalf("blocked %s: %v", url, m)
		}
	}
	if n := len(p.calls()); n != 0 {
		t.Fatalf("the processor got %d calls from refused reactors", n)
	}
	if m := e.metricsText(); !strings.Contains(m, `sluice_guest_http_requests_total{result="refused"} 2`) {
		t.Error("the refused requests are not counted in /metrics")
	}
	good := e.newReactor(k, "good", wasm, map[string]string{"CHARGE_URL": p.srv.URL + "/charges"})
	e.do("POST", "/reactors/"+good["id"].(string)+"/react", k, args).expect(t, 200)
	if n := len(p.calls()); n != 1 {
		t.Fatalf("the processor got %d calls, want 1", n)
	}
}

// TestReactHostileLoopFailsAlone: a reactor that loops forever is stopped at the call timeout
// and answered 500 as a proxy error; the next react works.
func TestReactHostileLoopFailsAlone(t *testing.T) {
	t.Parallel()
	p := startProcessor(t)
	e := reactEdge(t, p, func(c *Config) { c.Transforms.CallTimeout = 200 * time.Millisecond })
	k := e.adminKey
	loop := e.newReactor(k, "loop", base64.StdEncoding.EncodeToString(testdataWasm(t, "reactloop")), nil)
	echo := e.newReactor(k, "echo", base64.StdEncoding.EncodeToString(testdataWasm(t, "reactecho")), nil)
	for i := 0; i < 2; i++ {
		e.do("POST", "/reactors/"+loop["id"].(string)+"/react", k, map[string]any{"args": 1}).expectProblem(t, 500, true)
		res := e.do("POST", "/reactors/"+echo["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"raw": i}}).expect(t, 200).json(t)
		if res["raw"] != float64(i) {
			t.Fatalf("after the loop: %v", res)
		}
	}
	// A result that is not {"raw"?, "tokenize"?} is refused; reactecho then returns the refusal's
	// code from its entry point, which breaks the ABI: the call fails, alone.
	e.do("POST", "/reactors/"+echo["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"other": 1}}).expectProblem(t, 500, true)
	e.do("POST", "/reactors/"+echo["id"].(string)+"/react", k, map[string]any{"args": map[string]any{"raw": 2}}).expect(t, 200)
}

// TestReactTokenizeIsAllOrNothing: a result whose tokenize holds a refused token request makes
// no token at all and answers 400 naming the path.
func TestReactTokenizeIsAllOrNothing(t *testing.T) {
	t.Parallel()
	p := startProcessor(t)
	e := reactEdge(t, p)
	k := e.adminKey
	echo := e.newReactor(k, "echo", base64.StdEncoding.EncodeToString(testdataWasm(t, "reactecho")), nil)
	path := "/reactors/" + echo["id"].(string) + "/react"
	ok := e.do("POST", path, k, map[string]any{"args": map[string]any{"tokenize": map[string]any{
		"a": "leaf-secret", "b": []any{map[string]any{"type": "card_number", "data": "4242424242424242"}}}}}).expect(t, 200).json(t)
	tokens := ok["tokens"].(map[string]any)
	leaf := tokens["a"].(string)
	if v := e.do("GET", "/tokens/"+leaf, k, nil).expect(t, 200).json(t)["data"]; v != "leaf-secret" {
		t.Fatalf("leaf vaulted as %v", v)
	}
	if c := tokens["b"].([]any)[0].(map[string]any); c["type"] != "card_number" || c["id"] == "" {
		t.Fatalf("token request answered %v", c)
	}
	before := e.do("GET", "/logs?entity_type=token&operation=create&size=100", k, nil).expect(t, 200).json(t)["data"].([]any)
	m := e.do("POST", path, k, map[string]any{"args": map[string]any{"tokenize": []any{
		"made-then-undone", map[string]any{"type": "card_number", "data": "4242424242424241"}}}}).expectProblem(t, 400, false)
	if _, named := m["errors"].(map[string]any)["tokenize[1]"]; !named {
		t.Fatalf("the refusal does not name the path: %v", m)
	}
	after := e.do("GET", "/logs?entity_type=token&operation=delete&size=100", k, nil).expect(t, 200).json(t)["data"].([]any)
	if len(after) != 1 || len(before) == 0 {
		t.Fatalf("the token made before the refusal was not deleted: %d deletes", len(after))
	}
}

// TestReactHostileDestinationsFailAlone: a destination that answers more than the guest may
// read (announced or not) fails the guest's http_request, and one that never answers is cut off
// at the guest's deadline, well before the destination timeout (a minute here). Each fails its
// react alone; the next react works.
func TestReactHostileDestinationsFailAlone(t *testing.T) {
	t.Parallel()
	p := startProcessor(t)
	e := reactEdge(t, p, func(c *Config) {
		c.Limits.ProxyBodyBytes = 1 << 20 // a guest reads at most 1 MiB of a response
		c.Timeouts.Destination = time.Minute
		c.Transforms.CallTimeout = 5 * time.Second // generous: only /hang waits it out
	})
	k := e.adminKey
	card := e.token(k, map[string]any{"type": "card_number", "data": "4242424242424242"})
	moduleID := e.upload(k, testwasm.Example(t, "charge-card"))
	args := map[string]any{"args": map[string]any{"card": map[string]any{"number": "{{ " + card + " }}"}, "amount": 5}}
	good := e.newReactor(k, "good", moduleID, map[string]string{"CHARGE_URL": p.srv.URL + "/charges"})
	for _, c := range []struct {
		path   string
		status []int // what the guest makes of the failure
	}{
		{"/big-length", []int{503}},  // http_request fails: the guest answers ServiceUnavailableError
		{"/big-chunked", []int{503}}, // the same, found while reading
		// The request fails at the call's deadline: the guest is stopped (500), or, if its
		// http_request returned a hair early, answers 503. Either way long before a minute
		// (e.do gives up after 30 s).
		{"/hang", []int{500, 503}},
	} {
		t.Run(c.path, func(t *testing.T) {
			bad := e.newReactor(k, "bad", moduleID, map[string]string{"CHARGE_URL": p.srv.URL + c.path})
			r := e.do("POST", "/reactors/"+bad["id"].(string)+"/react", k, args)
			if !slices.Contains(c.status, r.status) {
				t.Fatalf("status %d, want one of %v: %s", r.status, c.status, r.body)
			}
			r.expectProblem(t, r.status, true)
			e.do("POST", "/reactors/"+good["id"].(string)+"/react", k, args).expect(t, 200)
		})
	}
	assertNoSecrets(t, e.logText(), "4242424242424242")
}
